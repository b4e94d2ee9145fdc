using System.Text;
using Microsoft.Extensions.Options;
using PgNotifyHub.Postgres;

namespace PgNotifyHub.Backplane;

internal sealed class BackplaneOptionsValidator : IValidateOptions<PgNotifyHubBackplaneOptions>
{
    private const string Prefix = PgNotifyHubBackplaneOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, PgNotifyHubBackplaneOptions options)
    {
        var failures = new List<string>();
        var prefixBytes = options.ChannelPrefix is null ? 0 : Encoding.UTF8.GetByteCount(options.ChannelPrefix);
        if (prefixBytes is 0 or > BackplaneChannel.MaxPrefixBytes || !ChannelName.IsValid(options.ChannelPrefix))
        {
            failures.Add($"{Prefix}{nameof(options.ChannelPrefix)} must be 1 to {BackplaneChannel.MaxPrefixBytes} bytes without NUL, not '{options.ChannelPrefix}'.");
        }

        RequirePositive(failures, options.AckTimeout, nameof(options.AckTimeout));
        RequirePositive(failures, options.SpillRetention, nameof(options.SpillRetention));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void RequirePositive(List<string> failures, TimeSpan value, string setting)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}{setting} must be positive, not {value}.");
        }
    }
}
