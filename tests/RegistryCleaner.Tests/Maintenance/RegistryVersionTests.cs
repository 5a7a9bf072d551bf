using RegistryCleaner.Maintenance;

namespace RegistryCleaner.Tests.Maintenance;

/// <summary>Which registry versions may run garbage-collect --delete-untagged: releases from 3.0.0 on, no pre-release of 3.0.0.</summary>
public sealed class RegistryVersionTests
{
    [Theory]
    [InlineData("docker-registry github.com/docker/distribution 2.8.2+ds1", "2.8.2", false)]
    [InlineData("registry github.com/distribution/distribution v2.8.3", "2.8.3", false)]
    [InlineData("registry github.com/distribution/distribution/v3 v3.0.0-alpha.1", "3.0.0-alpha.1", false)]
    [InlineData("registry github.com/distribution/distribution/v3 v3.0.0-beta.1", "3.0.0-beta.1", false)]
    [InlineData("registry github.com/distribution/distribution/v3 3.0.0-rc.3", "3.0.0-rc.3", false)]
    [InlineData("registry github.com/distribution/distribution/v3 v3.0.0", "3.0.0", true)]
    [InlineData("registry github.com/distribution/distribution/v3 v3.0.0+unknown", "3.0.0", true)]
    [InlineData("registry github.com/distribution/distribution/v3 v3.1.0-rc.1", "3.1.0-rc.1", true)]
    [InlineData("something else entirely", "something else entirely", false)]
    public void Only_releases_from_3_0_0_on_have_the_delete_untagged_fix(string output, string shown, bool fixedVersion)
    {
        RegistryVersion version = RegistryVersion.Parse(output);

        Assert.Equal(shown, version.ToString());
        Assert.Equal(fixedVersion, version.DeleteUntaggedKeepsIndexChildren);
    }
}
