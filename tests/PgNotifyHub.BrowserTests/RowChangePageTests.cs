using PgNotifyHub.BrowserTests.Infrastructure;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>
/// clients/browser/row-changes.html, the README's row-change example: the table and the publish_changes call its own
/// header shows, run as written, and the rows of the page's audience shown live as they are written.
/// </summary>
[Collection(SharedBrowser.Name)]
public sealed class RowChangePageTests(PostgresFixture postgres, BrowserFixture browser)
{
    [Fact]
    public async Task Row_change_page_shows_its_audiences_rows_as_they_are_inserted_updated_and_deleted()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel, outbox: true));
        await server.WaitForLineAsync(Settings.OutboxReading).OrTimeout();
        await using var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(server.BaseUri, "/row-changes.html").AbsoluteUri);

        // The page reads public.orders, so no other test may create it; the channel is this server's.
        var setup = await page.Locator("pre").InnerTextAsync();
        await SqlAsync("DROP TABLE IF EXISTS public.orders; " + setup.Replace("'pgws'", "'" + channel + "'", StringComparison.Ordinal));
        var rows = page.Locator("#rows tr");
        await Probes.SendUntilAsync(
            n => SqlAsync($"INSERT INTO orders (tenant, item, total) VALUES ('default', 'probe', {n})"),
            rows.First.WaitForAsync());

        await SqlAsync("INSERT INTO orders (tenant, item, total) VALUES ('default', 'coffee', 3.50)");
        await SqlAsync("UPDATE orders SET status = 'paid' WHERE item = 'coffee'");
        await SqlAsync("DELETE FROM orders WHERE item = 'probe'");
        await SqlAsync("INSERT INTO orders (tenant, item, total) VALUES ('acme', 'secret', 1.00)");
        // Through the outbox, after the others: once it is shown, every change before it has come.
        await SqlAsync("INSERT INTO orders (tenant, item, total) VALUES ('default', 'tea', 2.00)");
        await rows.Filter(new() { HasText = "tea" }).WaitForAsync();

        var shown = await rows.EvaluateAllAsync<string[][]>("trs => trs.map(tr => [tr.dataset.op, ...[...tr.cells].map(td => td.textContent)])");
        Assert.Equal(
            [["update", "coffee", "paid", "3.50"], ["insert", "tea", "new", "2.00"]],
            shown.Select(row => row.Where((_, i) => i != 1).ToArray()));
        Assert.Equal(await IdOfAsync("coffee"), shown[0][1]);

        async Task SqlAsync(string sql)
        {
            await using var command = postgres.DataSource.CreateCommand(sql);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        async Task<string> IdOfAsync(string item)
        {
            await using var command = postgres.DataSource.CreateCommand("SELECT id::text FROM orders WHERE item = $1");
            command.Parameters.AddWithValue(item);
            return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
    }
}
