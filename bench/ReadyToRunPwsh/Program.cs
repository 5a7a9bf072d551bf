// pwsh's own entry point: the console host, its arguments and its exit code, as the packaged pwsh runs it.
return Microsoft.PowerShell.UnmanagedPSEntry.Start(args, args.Length);
