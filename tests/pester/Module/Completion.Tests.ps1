# Completion as admins use it: every parameter naming a repository, tag, context, namespace or configuration key
# completes (against the real registry of tools/RegistryLab.psm1).

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    $script:withRepository = @(Get-Command -Module RegistryCleaner | Where-Object { $_.Parameters.ContainsKey('Repository') } | ForEach-Object { @{ Command = $_.Name } })
    $script:withTag = @(Get-Command -Module RegistryCleaner | Where-Object { $_.Parameters.ContainsKey('Tag') } | ForEach-Object { @{ Command = $_.Name } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    Import-Module (Join-Path $PSScriptRoot '../../../tools/RegistryLab.psm1') -Force
    $script:lab = Start-LabRegistry
    $script:sample = New-LabDominoSample $script:lab
    $script:url = $script:lab.Url
    $script:all = @('dominodatalab/environment', 'dominodatalab/model')
    $script:config = Join-Path $TestDrive 'config.yaml'
    Set-Content $script:config -Value @('registry:', "  url: $($script:url)", '  repository: dominodatalab', '  images:', '    - environment', '    - model')
    $script:kubeconfig = Join-Path $TestDrive 'kubeconfig.yaml'
    Set-Content $script:kubeconfig -Value @(
        'apiVersion: v1', 'kind: Config', 'current-context: prod-east',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: prod-east, context: {cluster: c, user: u, namespace: team-a}}]')
    function script:Complete([string] $line) { (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches }
}

AfterAll {
    if ($script:lab) { Stop-LabRegistry $script:lab }
}

Describe 'Completion' {
    It 'puts a completer on every -Repository, -Tag, -Context, -Namespace and -Key of every cmdlet' {
        $checked = foreach ($command in Get-Command -Module RegistryCleaner) {
            foreach ($parameter in $command.Parameters.Values | Where-Object Name -In 'Repository', 'Tag', 'Context', 'Namespace', 'Key') {
                $has = @($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ArgumentCompleterAttribute] }).Count -gt 0
                [pscustomobject]@{ Name = "$($command.Name) -$($parameter.Name)"; Has = $has }
            }
        }
        $checked.Count | Should -BeGreaterThan 25
        @($checked | Where-Object { -not $_.Has }).Name | Should -BeNullOrEmpty
    }

    It 'completes <Command> -Repository from the registry' -ForEach $withRepository {
        $completions = (Complete "$Command -ConfigPath '$config' -Repository dominodatalab/e").CompletionText
        $completions | Should -Contain 'dominodatalab/environment'
        $completions | Should -Not -Contain 'dominodatalab/model'
    }

    It 'completes <Command> -Tag from the tags of the typed -Repository' -ForEach $withTag {
        $completions = (Complete "$Command -ConfigPath '$config' -Repository dominodatalab/environment -Tag 659c7bce85f6381e675bb205").CompletionText
        $completions | Should -Contain '659c7bce85f6381e675bb205-1'
        $completions | ForEach-Object { $_ | Should -BeLike '659c7bce85f6381e675bb205*' }
    }

    It 'completes -Tag from the configured repositories when none is typed, and nothing (not file names) without a registry' {
        (Complete "Get-RegistryImage -ConfigPath '$config' -Tag 659c7bce85f6381e675bb205-").CompletionText | Should -Contain '659c7bce85f6381e675bb205-1'
        Push-Location $TestDrive
        try {
            New-Item -ItemType File (Join-Path $TestDrive 'zz-file.txt') -Force | Out-Null
            @(Complete 'Get-UnusedImage -Registry http://127.0.0.1:1 -Repository dominodatalab/environment -Tag ').Count | Should -Be 0
            @(Complete 'Remove-UnusedImage -Registry http://127.0.0.1:1 -Tag zz').Count | Should -Be 0
        }
        finally { Pop-Location }
    }

    It 'completes <Command> -Context and -Namespace from the kubeconfig' -ForEach @(
        @{ Command = 'Get-UnusedImage' }, @{ Command = 'Remove-UnusedImage' }) {
        (Complete "$Command -KubeConfig '$kubeconfig' -Context pr").CompletionText | Should -Be 'prod-east'
        (Complete "$Command -KubeConfig '$kubeconfig' -Namespace team").CompletionText | Should -Be 'team-a'
    }
}
