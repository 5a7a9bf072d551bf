BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    $savedPassword = $env:REGISTRY_PASSWORD
    $savedUrl = $env:REGISTRY_URL
    $savedConfig = $env:REGISTRY_CLEANER_CONFIG
}

AfterAll {
    $env:REGISTRY_PASSWORD = $savedPassword
    $env:REGISTRY_URL = $savedUrl
    $env:REGISTRY_CLEANER_CONFIG = $savedConfig
}

Describe 'Get-RegistryCleanerConfig' {
    BeforeEach {
        $env:REGISTRY_PASSWORD = $null
        $env:REGISTRY_URL = $null
        $env:REGISTRY_CLEANER_CONFIG = $null
        Push-Location $TestDrive
    }

    AfterEach { Pop-Location }

    It 'emits RegistryCleaner.ConfigEntry objects with Key, Value and Source' {
        $entries = @(Get-RegistryCleanerConfig)
        $entries.Count | Should -BeGreaterThan 20
        $entries[0].PSObject.TypeNames[0] | Should -Be 'RegistryCleaner.ConfigEntry'
        $url = $entries | Where-Object Key -eq 'registry.url'
        $url.Value | Should -Be 'docker-registry:5000'
        $url.Source | Should -Be 'Default'
    }

    It 'takes parameter-free precedence: environment over file over default' {
        Set-Content (Join-Path $TestDrive 'config.yaml') "registry:`n  url: from-file:5000`n  repository: filerepo`n"
        $env:REGISTRY_URL = 'from-env:5000'
        $entries = Get-RegistryCleanerConfig registry.*
        ($entries | Where-Object Key -eq 'registry.url') | Select-Object Value, Source |
            Should -BeLike '*from-env:5000*Environment*'
        ($entries | Where-Object Key -eq 'registry.repository').Source | Should -Be 'File'
        ($entries | Where-Object Key -eq 'registry.repository').Path | Should -Be (Join-Path $TestDrive 'config.yaml')
    }

    It 'reads the file named by REGISTRY_CLEANER_CONFIG' {
        $named = Join-Path $TestDrive 'named.yaml'
        Set-Content $named "analysis:`n  timeout: 9`n"
        $env:REGISTRY_CLEANER_CONFIG = $named
        (Get-RegistryCleanerConfig analysis.timeout).Value | Should -Be 9
    }

    It 'names the closest key for a -Key that is no key, and completes -Key from the schema' {
        $entries = @(Get-RegistryCleanerConfig -Key registry.ulr -ErrorVariable problems -ErrorAction SilentlyContinue)
        $entries.Count | Should -Be 0
        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'ConfigKeyNotFound,*'
        $problems[0].Exception.Message | Should -BeLike "*'registry.ulr' is not a configuration key. Did you mean 'registry.url'?*"
        @(Get-RegistryCleanerConfig -Key 'nosuch.*' -ErrorVariable none).Count | Should -Be 0
        $none.Count | Should -Be 0

        $line = 'Get-RegistryCleanerConfig -Key registry.u'
        $completed = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
        $completed.CompletionText | Should -Contain 'registry.url'
        $completed.CompletionText | Should -Contain 'registry.username'
        $completed.CompletionText | Should -Not -Contain 'mongo.uri'
        ($completed | Where-Object CompletionText -eq 'registry.url').ToolTip | Should -Not -BeNullOrEmpty
    }

    It 'masks secrets and never shows their value' {
        $env:REGISTRY_PASSWORD = 'Hunter2-NeverShown'
        $entry = Get-RegistryCleanerConfig registry.password
        $entry.Value | Should -Be '********'
        $entry.Source | Should -Be 'Environment'
        (Get-RegistryCleanerConfig | Out-String) + (Get-RegistryCleanerConfig | ConvertTo-Json) |
            Should -Not -Match 'Hunter2-NeverShown'
    }

    It 'stops with file, line and column for invalid YAML' {
        $bad = Join-Path $TestDrive 'bad.yaml'
        Set-Content $bad "registry:`n  url: [unclosed`n"
        $err = { Get-RegistryCleanerConfig -ConfigPath $bad -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'ConfigFileInvalid,*'
        $err.Exception.Message | Should -Match ([regex]::Escape($bad))
        $err.Exception.Message | Should -Match 'line \d+, column \d+'
    }

    It 'warns about an unknown key and names the closest known key' {
        $typo = Join-Path $TestDrive 'typo.yaml'
        Set-Content $typo "analysis:`n  max_worker: 4`n"
        $null = Get-RegistryCleanerConfig -ConfigPath $typo -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings.Count | Should -Be 1
        "$($warnings[0])" | Should -Match "'analysis.max_worker'.*'analysis.max_workers'"
    }

    It 'stops naming the key and expected type for a wrong type' {
        $typed = Join-Path $TestDrive 'typed.yaml'
        Set-Content $typed "analysis:`n  max_workers: many`n"
        { Get-RegistryCleanerConfig -ConfigPath $typed -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*'analysis.max_workers' must be a whole number*'many'*"
    }

    It 'stops on a number outside the range its parameter accepts, naming the key, the range and the line' -ForEach @(
        @{ Yaml = "analysis:`n  max_workers: 1000`n"; Expected = "*line 2*'analysis.max_workers' must be from 1 to 256; found 1000*" }
        @{ Yaml = "analysis:`n  max_workers: 0`n"; Expected = "*'analysis.max_workers' must be from 1 to 256; found 0*" }
        @{ Yaml = "analysis:`n  timeout: 90000`n"; Expected = "*'analysis.timeout' must be from 1 to 86400; found 90000*" }
    ) {
        $ranged = Join-Path $TestDrive 'ranged.yaml'
        Set-Content $ranged $Yaml
        { Get-RegistryCleanerConfig -ConfigPath $ranged -ErrorAction Stop } |
            Should -Throw -ExpectedMessage $Expected -ErrorId 'ConfigFileInvalid,*'
    }

    It 'shows a registry.kind no command can use, with a warning naming the kinds' {
        $kind = Join-Path $TestDrive 'kind.yaml'
        Set-Content $kind "registry:`n  kind: bogus`n"
        $entry = Get-RegistryCleanerConfig -ConfigPath $kind -Key registry.kind -WarningVariable warnings -WarningAction SilentlyContinue
        $entry.Value | Should -Be 'bogus'
        $warnings.Count | Should -Be 1
        "$($warnings[0])" | Should -Match "registry\.kind 'bogus' is not one of auto, distribution, harbor, ecr, acr, gar.*RegistryKindInvalid"
        $null = Get-RegistryCleanerConfig -Key registry.url -WarningVariable others -WarningAction SilentlyContinue
        $others.Count | Should -Be 0
    }

    It 'stops when -ConfigPath does not exist' {
        { Get-RegistryCleanerConfig -ConfigPath (Join-Path $TestDrive 'missing.yaml') -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConfigFileNotFound,*'
    }

    It 'filters keys with wildcards' {
        (Get-RegistryCleanerConfig mongo.*).Key | ForEach-Object { $_ | Should -BeLike 'mongo.*' }
    }
}
