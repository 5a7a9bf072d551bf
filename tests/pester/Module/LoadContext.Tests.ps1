BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    $manifestPath = Get-TestModulePath
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $oldYaml = Join-Path $packages 'yamldotnet/11.2.1/lib/netstandard2.1/YamlDotNet.dll'
}

Describe 'The private load context' {
    It 'works beside an older YamlDotNet that another module loaded first, and leaves that one working' {
        Test-Path $oldYaml | Should -BeTrue -Because 'dotnet restore of tests/RegistryCleaner.Tests downloads YamlDotNet 11.2.1'
        $config = Join-Path $TestDrive 'config.yaml'
        Set-Content $config "registry:`n  url: other-registry:5000`nanalysis:`n  max_workers: 7`n"
        $result = Invoke-ChildPwsh -Script @"
`$ErrorActionPreference = 'Stop'
Add-Type -LiteralPath '$oldYaml'
`$before = (New-Object YamlDotNet.Serialization.Deserializer).Deserialize[object]('owner: first')
'old-before=' + `$before['owner']
Import-Module '$manifestPath'
`$entries = Get-RegistryCleanerConfig -ConfigPath '$config'
'url=' + (`$entries | Where-Object Key -eq 'registry.url').Value
'workers=' + (`$entries | Where-Object Key -eq 'analysis.max_workers').Value
`$after = (New-Object YamlDotNet.Serialization.Deserializer).Deserialize[object]('owner: still-works')
'old-after=' + `$after['owner']
'default-context-yaml=' + ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' -and [Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_) -eq [Runtime.Loader.AssemblyLoadContext]::Default } | ForEach-Object { `$_.GetName().Version.Major })
'private-context-yaml=' + ([Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'RegistryCleaner' | ForEach-Object Assemblies | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' } | ForEach-Object { `$_.GetName().Version.Major })
"@
        $result.Output -join "`n" | Should -Not -Match 'Exception|Error'
        $result.ExitCode | Should -Be 0
        $result.Output | Should -Contain 'old-before=first'
        $result.Output | Should -Contain 'url=other-registry:5000'
        $result.Output | Should -Contain 'workers=7'
        $result.Output | Should -Contain 'old-after=still-works'
        $result.Output | Should -Contain 'default-context-yaml=11'
        $result.Output | Should -Contain 'private-context-yaml=18'
    }

    It 'reads a kubeconfig (its own parser and KubernetesClient''s) beside an older YamlDotNet' {
        $kubeconfig = Join-Path $TestDrive 'kubeconfig'
        Set-Content $kubeconfig @'
apiVersion: v1
kind: Config
current-context: alpha
clusters:
- name: unreachable
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: alpha
  context: { cluster: unreachable, user: reader, namespace: domino-compute }
- name: beta
  context: { cluster: unreachable, user: reader }
users:
- name: reader
  user: { token: not-a-secret }
'@
        $result = Invoke-ChildPwsh -Script @"
Add-Type -LiteralPath '$oldYaml'
`$null = (New-Object YamlDotNet.Serialization.Deserializer).Deserialize[object]('owner: first')
Import-Module '$manifestPath'
try { Get-WorkloadImage -KubeConfig '$kubeconfig' -Context gamma -ErrorAction Stop } catch { 'unknown-context=' + `$_.FullyQualifiedErrorId.Split(',')[0] + ' ' + `$_.Exception.Message }
try { Get-WorkloadImage -KubeConfig '$kubeconfig' -Context alpha -TimeoutSec 2 -ErrorAction Stop } catch { 'live=' + `$_.FullyQualifiedErrorId.Split(',')[0] }
"@
        $result.ExitCode | Should -Be 0
        $result.Output | Where-Object { $_ -like 'unknown-context=KubeConfigInvalid*' } | Should -Match 'alpha'
        $result.Output | Should -Contain 'live=WorkloadListFailed'
    }

    It 'stops with one error naming the missing loader and the fix when bin/RegistryCleaner.Loader.dll is gone' {
        $copy = Join-Path $TestDrive 'broken/RegistryCleaner'
        Copy-Item -LiteralPath $env:REGISTRYCLEANER_MODULE_PATH -Destination $copy -Recurse
        $loader = Join-Path $copy 'bin/RegistryCleaner.Loader.dll'
        Test-Path $loader | Should -BeTrue -Because 'the built module ships its loader there'
        Remove-Item -LiteralPath $loader
        $result = Invoke-ChildPwsh -Script @"
try { Import-Module '$(Join-Path $copy 'RegistryCleaner.psd1')' -ErrorAction Stop } catch { 'caught=' + `$_.FullyQualifiedErrorId.Split(',')[0] }
'errors=' + `$Error.Count
foreach (`$record in `$Error) { 'message=' + `$record.Exception.Message }
'loaded=' + [bool](Get-Module RegistryCleaner)
"@
        $result.Output | Should -Contain 'caught=RegistryCleanerLoaderMissing'
        $result.Output | Should -Contain 'errors=1'
        $result.Output | Should -Contain 'loaded=False'
        $message = @($result.Output | Where-Object { $_ -like 'message=*' })
        $message.Count | Should -Be 1
        $message[0] | Should -BeLike "*loader assembly $loader is missing*"
        $message[0] | Should -Match 'Reinstall the module'
        $message[0] | Should -Not -Match 'LoadContext|Could not load file'
    }

    It 'can be imported twice in one session' {
        $result = Invoke-ChildPwsh -Script @"
Import-Module '$manifestPath'
Remove-Module RegistryCleaner
Import-Module '$manifestPath'
(Get-RegistryCleanerConfig registry.url).Value
"@
        $result.ExitCode | Should -Be 0
        $result.Output | Should -Contain 'docker-registry:5000'
    }
}
