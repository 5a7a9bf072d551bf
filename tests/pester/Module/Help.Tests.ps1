BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    $commonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters +
        [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
    $cmdlets = foreach ($command in Get-Command -Module RegistryCleaner -CommandType Cmdlet) {
        @{
            Name       = $command.Name
            Parameters = @($command.Parameters.Values | Where-Object { $_.Name -notin $commonParameters -and -not ($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow }) } | ForEach-Object Name | ForEach-Object { @{ Cmdlet = $command.Name; Parameter = $_ } })
        }
    }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestSupport.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
}

Describe 'Help for <Name>' -ForEach $cmdlets {
    BeforeAll { $help = Get-Help $Name -Full }

    It 'has a synopsis of its own' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -BeLike "*$Name *[<CommonParameters>]*"
    }

    It 'has a description' {
        ($help.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }

    It 'has at least two examples with code' {
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        $help.Examples.Example | ForEach-Object { $_.Code | Should -Not -BeNullOrEmpty }
    }

    It 'describes parameter -<Parameter>' -ForEach $Parameters {
        $parameterHelp = $help.Parameters.Parameter | Where-Object Name -eq $Parameter
        $parameterHelp | Should -Not -BeNullOrEmpty
        ($parameterHelp.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$Parameter of $Cmdlet needs a description"
        # Get-Help's "Default value" line agrees with the description: never None beside a stated default.
        $described = ($parameterHelp.Description | Out-String) -replace '\s+', ' '
        if ($described -match 'Default: ') {
            $parameterHelp.defaultValue | Should -Not -Be 'None' -Because "the description of -$Parameter of $Cmdlet states a default"
            $described | Should -BeLike "*Default: $($parameterHelp.defaultValue)*"
        }
    }
}

Describe 'About topics' {
    It 'has <_>' -ForEach @('about_RegistryCleaner', 'about_RegistryCleaner_Configuration') {
        $topic = Get-Help $_
        ($topic | Out-String) | Should -Match $_
    }
}
