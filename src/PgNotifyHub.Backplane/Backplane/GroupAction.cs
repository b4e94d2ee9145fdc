namespace PgNotifyHub.Backplane;

internal enum GroupAction : byte
{
    Add = 1,
    Remove = 2,
}
