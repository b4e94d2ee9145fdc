namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>Unique names, so that tests never see each other's notifications even when run in parallel.</summary>
public static class Names
{
    public static string Channel() => "t_" + Guid.NewGuid().ToString("N");

    public static string Audience(string hint = "a") => hint + "_" + Guid.NewGuid().ToString("N")[..12];
}
