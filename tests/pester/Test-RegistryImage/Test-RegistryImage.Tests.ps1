# Test-RegistryImage as users type it, against a real docker-registry (tools/RegistryLab.psm1): a layer deleted behind
# the registry's back, and images piped from Get-RegistryImage.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    Import-Module (Join-Path $PSScriptRoot '../../../tools/RegistryLab.psm1') -Force
    $script:lab = Start-LabRegistry
    $script:repository = 'dominodatalab/environment'
    $script:kept = Publish-LabImage -Lab $lab -Repository $repository -Tag '659c7bce85f6381e675bb205-2' -Layers 2048 -Seed 12
    $null = Publish-LabImage -Lab $lab -Repository $repository -Tag after -Layers 512 -Seed 13
}

AfterAll {
    if ($script:lab) { Stop-LabRegistry $script:lab }
}

Describe 'Test-RegistryImage' {
    It 'reports a layer deleted behind the registry''s back, once per image that needs it, and a summary' {
        $layer = $kept.Layers[0].Digest
        Remove-Item (Join-Path $lab.StoragePath "docker/registry/v2/blobs/sha256/$($layer.Substring(7, 2))/$($layer.Substring(7))/data")

        $rows = @(Test-RegistryImage -Registry $lab.Url -Repository $repository)

        $problems = @($rows | Where-Object { $_.PSObject.TypeNames[0] -eq 'RegistryCleaner.RegistryImageProblem' })
        $problems.Count | Should -Be 1
        $problems[0].Tag | Should -Be $kept.Tag
        $problems[0].Kind | Should -Be 'Layer'
        $problems[0].Problem | Should -Be 'Missing'
        $problems[0].ExpectedSize | Should -Be 2048
        $summary = $rows[-1]
        $summary.PSObject.TypeNames[0] | Should -Be 'RegistryCleaner.RegistryIntegrity'
        $summary.Healthy | Should -BeFalse
        $summary.BrokenImages | Should -Be 1
        ($problems | Out-String -Width 160) | Should -Match 'Missing\s+Layer\s+GET dominodatalab/environment@sha256:'
        ($problems | Format-Table -View Wide | Out-String -Width 200) | Should -Match 'Missing\s+Layer\s+sha256:[0-9a-f]{12}\S*\s+2.0 KB'
        ($problems | Format-List | Out-String -Width 160) | Should -Match 'ExpectedSize\s+: 2.0 KB \(2048 bytes\)'
    }

    It 'checks only what is piped, by property name' {
        $rows = @(Get-RegistryImage -Registry $lab.Url -Repository $repository | Where-Object Tag -eq after | Test-RegistryImage -Registry $lab.Url)
        $rows.Count | Should -Be 1
        $rows[0].Healthy | Should -BeTrue
        $rows[0].Images | Should -Be 1
    }
}
