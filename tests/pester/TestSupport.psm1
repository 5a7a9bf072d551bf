# Shared by the Pester tests: where the built module is, and how to start a child pwsh the same way as this one.

function Get-TestModulePath {
    if (-not $env:REGISTRYCLEANER_MODULE_PATH) {
        throw 'REGISTRYCLEANER_MODULE_PATH is not set: run the Pester tests through ./build.ps1 Test.'
    }
    Join-Path $env:REGISTRYCLEANER_MODULE_PATH 'RegistryCleaner.psd1'
}

function Invoke-ChildPwsh {
    # Runs a script in a fresh pwsh -NoProfile -NonInteractive and returns its output lines and exit code.
    param(
        [Parameter(Mandatory)][string] $Script,
        [string] $WorkingDirectory = (Get-Location).Path,
        [hashtable] $Environment = @{}
    )
    $process = [Environment]::ProcessPath
    $prefix = @()
    if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') { $prefix = @(Join-Path $PSHOME 'pwsh.dll') }
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($Script))
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Environment[$name])
    }
    Push-Location $WorkingDirectory
    try {
        $output = & $process @prefix -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1 | ForEach-Object { "$_" }
        [pscustomobject]@{ Output = @($output); ExitCode = $LASTEXITCODE }
    }
    finally {
        Pop-Location
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    }
}

Export-ModuleMember -Function Get-TestModulePath, Invoke-ChildPwsh
