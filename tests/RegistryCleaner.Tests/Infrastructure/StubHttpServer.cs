using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// A tiny Kestrel server on a free loopback port that answers every request with a delegate: for behaviour a real
/// registry will not produce on demand (malformed manifests, 503/429 storms, paged tag lists) and for a token service.
/// </summary>
public sealed class StubHttpServer : IAsyncDisposable, IDisposable
{
    private readonly WebApplication app;

    private StubHttpServer(WebApplication app, Uri baseAddress)
    {
        this.app = app;
        this.BaseAddress = baseAddress;
    }

    /// <summary>Gets <c>http://127.0.0.1:port/</c> (or the address it was started on).</summary>
    public Uri BaseAddress { get; }

    /// <summary>Starts a server on a free port of <paramref name="address"/> (127.0.0.1 by default; all of 127.0.0.0/8 is loopback on Linux, so 127.0.0.2 is another host on this machine).</summary>
    public static StubHttpServer Start(RequestDelegate handler, IPAddress? address = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(address ?? IPAddress.Loopback, 0));
        WebApplication app = builder.Build();
        app.Run(handler);
        app.StartAsync().GetAwaiter().GetResult();
        string listening = app.Services.GetRequiredServiceOf<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new StubHttpServer(app, new Uri(listening.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await this.app.StopAsync().ConfigureAwait(false);
        await this.app.DisposeAsync().ConfigureAwait(false);
    }

    public void Dispose() => this.DisposeAsync().AsTask().GetAwaiter().GetResult();
}

internal static class ServiceProviderExtensions
{
    public static T GetRequiredServiceOf<T>(this IServiceProvider services)
        where T : notnull =>
        (T)(services.GetService(typeof(T)) ?? throw new InvalidOperationException($"No {typeof(T).Name} registered."));
}
