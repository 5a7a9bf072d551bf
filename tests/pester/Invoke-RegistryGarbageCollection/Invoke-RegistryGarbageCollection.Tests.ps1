# Invoke-RegistryGarbageCollection as users type it, against a real docker-registry (tools/RegistryLab.psm1) that this
# PowerShell started: the cmdlet restarts that very process.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    Import-Module (Join-Path $PSScriptRoot '../../../tools/RegistryLab.psm1') -Force
    # The cmdlet restarts the registry: a port below the ephemeral range cannot be taken in between.
    $low = [int]((Get-Content /proc/sys/net/ipv4/ip_local_port_range) -split '\s+')[0]
    $port = foreach ($attempt in 1..50) {
        $candidate = Get-Random -Minimum ($low - 12000) -Maximum $low
        try { $probe = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, $candidate); $probe.Start(); $probe.Stop(); $candidate; break }
        catch [Net.Sockets.SocketException] { }
    }
    $script:lab = Start-LabRegistry -Port $port
    $script:repository = 'dominodatalab/environment'
    $script:old = Publish-LabImage -Lab $lab -Repository $repository -Tag '659c7bce85f6381e675bb205-1' -Layers 4096, 1024 -Seed 11
    $script:kept = Publish-LabImage -Lab $lab -Repository $repository -Tag '659c7bce85f6381e675bb205-2' -Layers 2048 -Seed 12
    $script:restarted = [Collections.Generic.List[int]]::new()
    $script:workFolder = Join-Path $TestDrive 'work'
    New-Item -ItemType Directory -Path $workFolder | Out-Null
    Push-Location $workFolder
}

AfterAll {
    Pop-Location
    # Only the registry processes this file's cmdlets started, by ID.
    foreach ($id in $script:restarted) { Stop-Process -Id $id -ErrorAction SilentlyContinue }
    if ($script:lab) { Stop-LabRegistry $script:lab }
}

Describe 'Invoke-RegistryGarbageCollection on this host' {
    It 'refuses, in a session that cannot prompt, to run without -Confirm:$false, and changes nothing' {
        $failed = $null
        try { Invoke-RegistryGarbageCollection -ProcessId $lab.Process.Id -Registry $lab.Url } catch { $failed = $_ }
        $failed.FullyQualifiedErrorId | Should -BeLike 'ConfirmationNeedsInteractiveSession*'
        $lab.Process.HasExited | Should -BeFalse
    }

    It 'names a process ID that runs nothing' {
        $failed = $null
        $output = try { Invoke-RegistryGarbageCollection -ProcessId 999999 -Registry $lab.Url -Confirm:$false } catch { $failed = $_ }
        $output | Should -BeNullOrEmpty
        $failed.FullyQualifiedErrorId | Should -BeLike 'RegistryHostUnusable*'
        "$failed" | Should -BeLike '*no running process 999999*'
    }

    It 'predicts with -WhatIf exactly the bytes that deleting an image frees, and changes nothing' {
        $deleted = Remove-UnusedImage -Registry $lab.Url -Repository $repository -Tag $old.Tag -InUse @() -MongoUsage:$false -Confirm:$false
        $deleted.Status | Should -Be 'Deleted'
        $script:expected = $old.Size + $old.ManifestSize
        $deleted.ReclaimableBytes | Should -Be $expected
        $before = Get-LabBlobBytes $lab

        $preview = Invoke-RegistryGarbageCollection -ProcessId $lab.Process.Id -Registry $lab.Url -WhatIf

        $preview.PSObject.TypeNames[0] | Should -Be 'RegistryCleaner.GarbageCollection'
        $preview.Status | Should -Be 'WhatIf'
        $preview.BlobsEligible | Should -Be 4
        $preview.BytesEligible | Should -Be $expected
        (Get-LabBlobBytes $lab) | Should -Be $before
        $lab.Process.HasExited | Should -BeFalse
        ($preview | Out-String -Width 160) | Should -Match "Eligible\s+: 4 blobs, .* \($expected bytes\)"
    }

    It 'frees them, restarts the registry writable and verifies every image' {
        $before = Get-LabBlobBytes $lab

        $result = Invoke-RegistryGarbageCollection -ProcessId $lab.Process.Id -Registry $lab.Url -Confirm:$false
        $script:restarted.Add($result.ProcessId)

        $result.Status | Should -Be 'Completed'
        $result.BytesFreed | Should -Be $expected
        ($before - (Get-LabBlobBytes $lab)) | Should -Be $expected
        $result.Verification | Should -Be 'Passed'
        $result.ProcessId | Should -Not -Be $lab.Process.Id
        $lab.Process.HasExited | Should -BeTrue
        Get-Process -Id $result.ProcessId | Should -Not -BeNullOrEmpty
        # The restarted registry writes to the log the lab's registry wrote to, and takes pushes.
        Publish-LabImage -Lab $lab -Repository $repository -Tag after -Layers 512 -Seed 13 | Should -Not -BeNullOrEmpty
        (Get-RegistryImage -Registry $lab.Url -Repository $repository).Tag | Should -Contain $kept.Tag
    }
}
