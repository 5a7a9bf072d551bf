# Loads the cmdlets and every third-party dependency (YamlDotNet, KubernetesClient, MongoDB.Driver, Polly) into a
# private AssemblyLoadContext (see src/RegistryCleaner.Loader), so other modules' versions of those libraries and ours
# never meet. Only the small loader assembly lives in the default context.

# Assembly.LoadFrom is what Add-Type -LiteralPath does for a .dll, without Add-Type's own first-call setup (its C#
# compiler), which in a fresh pwsh takes about 0.2 s of CPU where LoadFrom takes 0.01 s.
$loaderPath = [System.IO.Path]::Combine($PSScriptRoot, 'bin', 'RegistryCleaner.Loader.dll')
if (-not ('RegistryCleaner.Loader.LoadContext' -as [type])) {
    # One error that says what is wrong and what to do, instead of LoadFrom's and the two that would follow it.
    $problem = $null
    if (-not [System.IO.File]::Exists($loaderPath)) {
        $problem = 'is missing'
    }
    else {
        try {
            $null = [System.Reflection.Assembly]::LoadFrom($loaderPath)
        }
        catch {
            $problem = "cannot be loaded ($($_.Exception.GetBaseException().Message))"
            $Error.Remove($_)
        }
    }

    if ($problem) {
        $exception = [System.IO.FileNotFoundException]::new(
            "RegistryCleaner cannot be imported: its loader assembly $loaderPath $problem, so the module's folder is incomplete or damaged. " +
            'Reinstall the module (Install-PSResource RegistryCleaner -Reinstall, or copy the whole build output folder out/RegistryCleaner again).',
            $loaderPath)
        throw [System.Management.Automation.ErrorRecord]::new($exception, 'RegistryCleanerLoaderMissing', 'ObjectNotFound', $loaderPath)
    }
}

$moduleAssembly = [RegistryCleaner.Loader.LoadContext]::Initialize()
$innerModule = Import-Module -Assembly $moduleAssembly -PassThru -DisableNameChecking

# Re-export the binary module's cmdlets as this module's own, so Get-Command -Module RegistryCleaner, help and
# CmdletsToExport in the manifest all see them.
$addExportedCmdlet = [System.Management.Automation.PSModuleInfo].GetMethod(
    'AddExportedCmdlet', [System.Reflection.BindingFlags]'Instance, NonPublic')
foreach ($cmdlet in $innerModule.ExportedCmdlets.Values) {
    $addExportedCmdlet.Invoke($ExecutionContext.SessionState.Module, @(, $cmdlet))
}

$ExecutionContext.SessionState.Module.OnRemove = {
    Remove-Module -ModuleInfo $innerModule -ErrorAction SilentlyContinue
}
