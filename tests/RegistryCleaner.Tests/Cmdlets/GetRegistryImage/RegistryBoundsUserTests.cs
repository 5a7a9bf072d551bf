using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>What an admin sees in a fresh pwsh when a registry sends an endless manifest and an endless tag list.</summary>
public sealed class RegistryBoundsUserTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-bounds-user-").FullName;

    public void Dispose() => Directory.Delete(this.folder, recursive: true);

    [Fact]
    public async Task Get_RegistryImage_reports_the_limit_for_the_hostile_tag_and_the_endless_repository_and_lists_the_other_tags()
    {
        await using var registry = HostileRegistry.Start(async (context, served) =>
        {
            context.Response.ContentType = "application/vnd.docker.distribution.manifest.v2+json";
            await served.WriteAsync(context, ' ', long.MaxValue);
        });

        UserSession session = new UserShell(this.folder).Run(
            $"Get-RegistryImage -Registry '{registry.BaseAddress.TrimEnd('/')}' -Repository app, endless -TimeoutSec 1 | Sort-Object Tag | Format-Table Repository, Tag");

        // The hostile tag: one error naming the tag and the limit; the other tags are listed.
        UserError manifest = Assert.Single(session.Errors, e => e.Message.Contains("app:hostile", StringComparison.Ordinal));
        Assert.Contains("larger than 4 MiB (MaxManifestBytes, distribution's own manifest limit)", manifest.Message, StringComparison.Ordinal);
        Assert.StartsWith("RegistryLimitExceeded,", manifest.ErrorId, StringComparison.Ordinal);

        // The endless tag list: stopped by -TimeoutSec 1 (a listing takes at most 10 of them), an error for that repository.
        UserError listing = Assert.Single(session.Errors, e => e.Message.StartsWith("endless:", StringComparison.Ordinal));
        Assert.Contains("within 10 s (MaxListingTime: 10 times -TimeoutSec)", listing.Message, StringComparison.Ordinal);
        Assert.Equal(2, session.Errors.Count);

        Assert.Contains("larger than 4 MiB", session.Text, StringComparison.Ordinal);
        Assert.Matches(@"app\s+good", session.Output);
        Assert.Matches(@"app\s+other", session.Output);
        Assert.DoesNotMatch(@"app\s+hostile", session.Output);
        Assert.InRange(await registry.HostileBytesAsync(), 4L << 20, 64L << 20);
        Assert.InRange(registry.EndlessPages, 2, 200);
    }
}
