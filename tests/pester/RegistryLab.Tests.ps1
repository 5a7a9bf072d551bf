# tools/RegistryLab.psm1, the real local registry the Pester tests, Demo and Bench run against.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../../tools/RegistryLab.psm1') -Force
    $script:lab = Start-LabRegistry
    $script:sample = New-LabDominoSample $script:lab
}

AfterAll {
    if ($script:lab) { Stop-LabRegistry $script:lab }
}

Describe 'RegistryLab' {
    It 'counts the stored blob bytes and runs the registry garbage collection' {
        $before = Get-LabBlobBytes $lab
        # Stored bytes are the layers and configs pushed plus the manifests themselves.
        $before | Should -BeGreaterThan $sample.BlobBytes
        $output = Invoke-LabGarbageCollect $lab
        ($output -join "`n") | Should -Match 'blobs marked'
        # Nothing was deleted, so nothing is freed.
        Get-LabBlobBytes $lab | Should -Be $before
    }

    It 'stops only its own registry process and removes its folder' {
        $other = Start-LabRegistry
        Stop-LabRegistry $other
        $other.Process.HasExited | Should -BeTrue
        Test-Path $other.Root | Should -BeFalse
        $lab.Process.HasExited | Should -BeFalse
    }
}
