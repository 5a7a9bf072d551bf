@{
    RootModule             = 'RegistryCleaner.psm1'
    ModuleVersion          = '0.1.0'
    CompatiblePSEditions   = @('Core')
    GUID                   = '3f0c7a52-6d2e-4a8e-9b7d-2c54f1e8a9d3'
    Author                 = 'RegistryCleaner contributors'
    CompanyName            = 'RegistryCleaner contributors'
    Copyright              = '(c) RegistryCleaner contributors. MIT License.'
    Description            = 'Cleans Docker/OCI registries (Domino Data Lab installs and any Kubernetes shop with a self-hosted registry) without breaking a running workload: exact usage from Kubernetes and MongoDB, exact reclaimable bytes, -WhatIf, a journal to restore from.'
    PowerShellVersion      = '7.4'
    FormatsToProcess       = @('RegistryCleaner.Format.ps1xml')
    FunctionsToExport      = @()
    CmdletsToExport        = @(
        'Compare-DominoRegistry'
        'Disable-RegistryDeletion'
        'Enable-RegistryDeletion'
        'Export-RegistryReport'
        'Find-ArchivedEnvTag'
        'Get-DominoImageUsage'
        'Get-RegistryCleanerConfig'
        'Get-RegistryImage'
        'Get-RegistryLayer'
        'Get-UnusedImage'
        'Get-WorkloadImage'
        'Invoke-RegistryGarbageCollection'
        'Remove-MongoEnvRevision'
        'Remove-UnusedImage'
        'Restore-RegistryImage'
        'Test-RegistryImage'
    )
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('Docker', 'OCI', 'Registry', 'Kubernetes', 'Domino', 'Cleanup', 'GarbageCollection', 'PSEdition_Core', 'Linux', 'Windows', 'MacOS')
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            ReleaseNotes = 'See README.md.'
        }
    }
}
