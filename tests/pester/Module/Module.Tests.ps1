BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    $manifestPath = Get-TestModulePath
    $moduleRoot = Split-Path $manifestPath
    Import-Module $manifestPath -Force
}

Describe 'The built module' {
    It 'has a valid manifest for PowerShell 7.4 and later' {
        $manifest = Test-ModuleManifest $manifestPath
        $manifest.Name | Should -Be 'RegistryCleaner'
        $manifest.PowerShellVersion | Should -Be ([version] '7.4')
        $manifest.CompatiblePSEditions | Should -Be @('Core')
    }

    It 'exports exactly the cmdlets its manifest lists' {
        $manifest = Import-PowerShellDataFile $manifestPath
        $exported = (Get-Command -Module RegistryCleaner -CommandType Cmdlet).Name | Sort-Object
        $exported | Should -Be ($manifest.CmdletsToExport | Sort-Object)
    }

    It 'does not ship System.Management.Automation.dll' {
        Get-ChildItem $moduleRoot -Recurse -Filter 'System.Management.Automation.dll' | Should -BeNullOrEmpty
    }

    It 'keeps only the loader in the default load context' {
        Get-ChildItem (Join-Path $moduleRoot 'bin') -File -Filter *.dll | ForEach-Object Name |
            Should -Be @('RegistryCleaner.Loader.dll')
    }

    It 'uses approved verbs only' {
        $approved = (Get-Verb).Verb
        foreach ($command in Get-Command -Module RegistryCleaner) {
            $command.Verb | Should -BeIn $approved -Because "$($command.Name) must use an approved verb"
        }
    }

    It 'declares an [OutputType] with a RegistryCleaner PSTypeName on every cmdlet' {
        foreach ($command in Get-Command -Module RegistryCleaner) {
            $command.OutputType.Name | Should -Not -BeNullOrEmpty -Because "$($command.Name) needs [OutputType]"
            $command.OutputType.Name | ForEach-Object { $_ | Should -BeLike 'RegistryCleaner.*' }
        }
    }

    It 'loads the heavy dependencies only when a cmdlet needs them' {
        $result = Invoke-ChildPwsh -Script @"
Import-Module '$manifestPath'
`$loaded = [AppDomain]::CurrentDomain.GetAssemblies().GetName().Name
'KubernetesClient=' + (`$loaded -contains 'KubernetesClient')
'MongoDB.Driver=' + (`$loaded -contains 'MongoDB.Driver')
"@
        $result.ExitCode | Should -Be 0
        $result.Output | Should -Contain 'KubernetesClient=False'
        $result.Output | Should -Contain 'MongoDB.Driver=False'
    }
}

Describe 'The package' {
    It 'is a .nupkg that PSResourceGet installs from a local folder repository and that imports' {
        $repository = Join-Path $TestDrive 'repository'
        $installed = Join-Path $TestDrive 'installed'
        New-Item -ItemType Directory -Path $repository, $installed | Out-Null
        $name = "RegistryCleanerTest$PID"
        $result = Invoke-ChildPwsh -Script @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name '$name' -Uri '$repository' -Trusted
try {
    Publish-PSResource -Path '$moduleRoot' -Repository '$name'
    (Get-ChildItem '$repository' -Filter *.nupkg).Name
    Save-PSResource -Name RegistryCleaner -Repository '$name' -Path '$installed' -TrustRepository
    Import-Module (Join-Path '$installed' 'RegistryCleaner')
    'imported=' + (Get-RegistryCleanerConfig registry.url).Value
}
finally { Unregister-PSResourceRepository -Name '$name' }
"@
        $result.Output -join "`n" | Should -Not -Match 'Exception'
        $result.ExitCode | Should -Be 0
        $result.Output | Should -Contain 'RegistryCleaner.0.1.0.nupkg'
        $result.Output | Should -Contain 'imported=docker-registry:5000'
    }
}
