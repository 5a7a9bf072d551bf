using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>How a <see cref="RegistryServer"/> authenticates clients.</summary>
public enum RegistryAuthMode
{
    /// <summary>Anonymous access.</summary>
    None,

    /// <summary>HTTP basic with an htpasswd file.</summary>
    Htpasswd,

    /// <summary>The bearer-token challenge flow against a <see cref="TokenIssuer"/>.</summary>
    Token,
}

/// <summary>What a <see cref="RegistryServer"/> runs with.</summary>
public sealed record RegistryServerOptions
{
    public RegistryAuthMode Auth { get; init; } = RegistryAuthMode.None;

    public bool Tls { get; init; }

    public bool DeleteEnabled { get; init; } = true;

    public string Username { get; init; } = "alice";

    public string Password { get; init; } = "correct-horse-battery";

    /// <summary>The token issuer, for <see cref="RegistryAuthMode.Token"/>.</summary>
    public TokenIssuer? Issuer { get; init; }

    /// <summary>Extra environment variables of the registry process (REGISTRY_* override its config.yml).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>
    /// Takes a port below the ephemeral range, for registries that tests restart: no port-0 listener or outgoing
    /// connection elsewhere can take it in the moment between the old process and the new one.
    /// </summary>
    public bool Restartable { get; init; }

    /// <summary>
    /// Turns on distribution's in-memory blob descriptor cache (<c>storage.cache.blobdescriptor: inmemory</c>), the
    /// default in Debian's and the registry:2 image's config.yml: HEAD of a blob is then answered from memory.
    /// </summary>
    public bool BlobDescriptorCache { get; init; }
}

/// <summary>
/// A real CNCF distribution registry (<c>/usr/bin/docker-registry</c>) on a free loopback port with its own temporary
/// storage, killed by PID on dispose. Subclass with a parameterless constructor to use it as an xunit class fixture.
/// </summary>
public class RegistryServer : IDisposable
{
    private const string Binary = "/usr/bin/docker-registry";
    private readonly string root;
    private readonly StringBuilder output = new();
    private readonly List<int> adopted = [];
    private Process? process;
    private IReadOnlyDictionary<string, string>? environment;

    public RegistryServer(RegistryServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.Options = options;
        this.environment = options.Environment;
        this.root = Directory.CreateTempSubdirectory("registrycleaner-registry-").FullName;
        this.StoragePath = Path.Combine(this.root, "storage");
        this.ConfigPath = Path.Combine(this.root, "config.yml");
        Directory.CreateDirectory(this.StoragePath);
        if (options.Tls)
        {
            this.WriteCertificate();
        }

        if (options.Auth == RegistryAuthMode.Htpasswd)
        {
            this.WriteHtpasswd();
        }

        // A freed port can be taken by someone else before the registry binds it: try a few.
        Exception? last = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                this.Start(options.Restartable ? PortBelowEphemeralRange() : FreePort());
                return;
            }
            catch (InvalidOperationException ex)
            {
                last = ex;
                this.Kill();
            }
        }

        throw new InvalidOperationException("docker-registry did not start.", last);
    }

    public RegistryServerOptions Options { get; }

    /// <summary>Gets the registry's base address, <c>http(s)://127.0.0.1:port/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Gets the registry as a user names it: <c>127.0.0.1:port</c> (TLS) or the <c>http://</c> URL.</summary>
    public string Registry => this.Options.Tls ? this.BaseAddress.Authority : this.BaseAddress.ToString();

    public string StoragePath { get; }

    public string ConfigPath { get; }

    /// <summary>Gets the self-signed certificate (TLS only).</summary>
    public X509Certificate2? Certificate { get; private set; }

    /// <summary>Gets the registry's process ID (the one this server started last).</summary>
    public int ProcessId => this.process?.Id ?? throw new InvalidOperationException("The registry is not running.");

    /// <summary>
    /// Restarts the registry on the same port and storage with these extra environment variables (what a rollout of a
    /// StatefulSet with a changed environment does to its pod).
    /// </summary>
    public void Restart(IReadOnlyDictionary<string, string>? environment)
    {
        this.Kill();
        this.environment = environment;
        this.Start(this.BaseAddress.Port);
    }

    /// <summary>
    /// Takes over a registry process that replaced this one (a cmdlet restarted it), so that it is stopped with this
    /// server; only that process ID is ever signalled.
    /// </summary>
    public void Adopt(int processId)
    {
        lock (this.adopted)
        {
            this.adopted.Add(processId);
        }
    }

    /// <summary>Runs <c>docker-registry garbage-collect</c> on this registry's config and returns its output.</summary>
    public string RunGarbageCollect(bool deleteUntagged = false)
    {
        var start = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("garbage-collect");
        if (deleteUntagged)
        {
            start.ArgumentList.Add("--delete-untagged");
        }

        start.ArgumentList.Add(this.ConfigPath);
        using Process gc = Process.Start(start)!;
        Task<string> stdout = gc.StandardOutput.ReadToEndAsync();
        Task<string> stderr = gc.StandardError.ReadToEndAsync();
        if (!gc.WaitForExit(60_000))
        {
            gc.Kill();
            throw new TimeoutException("garbage-collect did not finish within 60 s.");
        }

        string text = stdout.Result + stderr.Result;
        return gc.ExitCode == 0 ? text : throw new InvalidOperationException($"garbage-collect exited with {gc.ExitCode}: {text}");
    }

    /// <summary>Returns the bytes of every blob stored (files named <c>data</c> under the blob store).</summary>
    public long BlobBytes()
    {
        string blobs = Path.Combine(this.StoragePath, "docker", "registry", "v2", "blobs");
        return Directory.Exists(blobs)
            ? Directory.EnumerateFiles(blobs, "data", SearchOption.AllDirectories).Sum(static f => new FileInfo(f).Length)
            : 0;
    }

    /// <summary>Gets what the registry printed so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (this.output)
            {
                return this.output.ToString();
            }
        }
    }

    public void Dispose()
    {
        this.Kill();
        lock (this.adopted)
        {
            foreach (int id in this.adopted)
            {
                try
                {
                    using Process adoptedProcess = Process.GetProcessById(id);
                    if (!adoptedProcess.HasExited && adoptedProcess.ProcessName.Contains("registry", StringComparison.Ordinal))
                    {
                        adoptedProcess.Kill();
                        adoptedProcess.WaitForExit(5000);
                    }
                }
                catch (ArgumentException)
                {
                    // Already gone.
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }
            }
        }

        this.Certificate?.Dispose();
        try
        {
            Directory.Delete(this.root, recursive: true);
        }
        catch (IOException)
        {
            // A straggling file handle must not fail the test run; the temp directory is cleaned by the OS eventually.
        }

        GC.SuppressFinalize(this);
    }

    private static int PortBelowEphemeralRange()
    {
        int low = 32768;
        try
        {
            low = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            // The usual Linux default.
        }

        for (int attempt = 0; attempt < 50; attempt++)
        {
            int port = Random.Shared.Next(Math.Max(1024, low - 12000), low);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        return FreePort();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Start(int port)
    {
        string scheme = this.Options.Tls ? "https" : "http";
        this.BaseAddress = new Uri($"{scheme}://127.0.0.1:{port}/");
        File.WriteAllText(this.ConfigPath, this.ConfigYaml(port));
        var start = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("serve");
        start.ArgumentList.Add(this.ConfigPath);
        foreach ((string name, string value) in this.environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        this.process = Process.Start(start)!;
        this.process.OutputDataReceived += this.Collect;
        this.process.ErrorDataReceived += this.Collect;
        this.process.BeginOutputReadLine();
        this.process.BeginErrorReadLine();

        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = static (_, _, _, _) => true };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (this.process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited with {this.process.ExitCode}: {this.Output}");
            }

            try
            {
                // Any answer (200 or a 401 challenge) means it is serving.
                using HttpResponseMessage response = http.GetAsync(new Uri(this.BaseAddress, "v2/")).GetAwaiter().GetResult();
                return;
            }
            catch (HttpRequestException)
            {
                Thread.Sleep(30);
            }
            catch (TaskCanceledException)
            {
                Thread.Sleep(30);
            }
        }

        throw new InvalidOperationException($"docker-registry did not answer on {this.BaseAddress} within 15 s: {this.Output}");
    }

    private void Collect(object sender, DataReceivedEventArgs e)
    {
        if (e.Data is null)
        {
            return;
        }

        lock (this.output)
        {
            if (this.output.Length < 200_000)
            {
                this.output.AppendLine(e.Data);
            }
        }
    }

    private void Kill()
    {
        Process? running = this.process;
        this.process = null;
        if (running is null)
        {
            return;
        }

        try
        {
            if (!running.HasExited)
            {
                running.Kill(entireProcessTree: false);
                running.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            running.Dispose();
        }
    }

    private string ConfigYaml(int port)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine("version: 0.1");
        yaml.AppendLine("log:");
        yaml.AppendLine("  level: error");
        yaml.AppendLine("  accesslog:");
        yaml.AppendLine("    disabled: true");
        yaml.AppendLine("storage:");
        yaml.AppendLine("  filesystem:");
        yaml.AppendLine($"    rootdirectory: {this.StoragePath}");
        if (this.Options.BlobDescriptorCache)
        {
            yaml.AppendLine("  cache:");
            yaml.AppendLine("    blobdescriptor: inmemory");
        }

        yaml.AppendLine("  delete:");
        yaml.AppendLine($"    enabled: {(this.Options.DeleteEnabled ? "true" : "false")}");
        yaml.AppendLine("  maintenance:");
        yaml.AppendLine("    uploadpurging:");
        yaml.AppendLine("      enabled: false");
        yaml.AppendLine("http:");
        yaml.AppendLine($"  addr: 127.0.0.1:{port}");
        yaml.AppendLine("  secret: registrycleaner-test-secret");
        if (this.Options.Tls)
        {
            yaml.AppendLine("  tls:");
            yaml.AppendLine($"    certificate: {Path.Combine(this.root, "tls.crt")}");
            yaml.AppendLine($"    key: {Path.Combine(this.root, "tls.key")}");
        }

        yaml.AppendLine("health:");
        yaml.AppendLine("  storagedriver:");
        yaml.AppendLine("    enabled: false");
        switch (this.Options.Auth)
        {
            case RegistryAuthMode.Htpasswd:
                yaml.AppendLine("auth:");
                yaml.AppendLine("  htpasswd:");
                yaml.AppendLine("    realm: registrycleaner-test");
                yaml.AppendLine($"    path: {Path.Combine(this.root, "htpasswd")}");
                break;
            case RegistryAuthMode.Token:
                TokenIssuer issuer = this.Options.Issuer ?? throw new InvalidOperationException("Token auth needs an issuer.");
                string bundle = Path.Combine(this.root, "token-root.pem");
                File.WriteAllText(bundle, issuer.CertificatePem);
                yaml.AppendLine("auth:");
                yaml.AppendLine("  token:");
                yaml.AppendLine($"    realm: {issuer.Realm}");
                yaml.AppendLine($"    service: {issuer.Service}");
                yaml.AppendLine($"    issuer: {issuer.Issuer}");
                yaml.AppendLine($"    rootcertbundle: {bundle}");
                break;
        }

        return yaml.ToString();
    }

    private void WriteCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.1") }, false));
        X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        File.WriteAllText(Path.Combine(this.root, "tls.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(this.root, "tls.key"), key.ExportPkcs8PrivateKeyPem());
        this.Certificate = certificate;
    }

    private void WriteHtpasswd()
    {
        // bcrypt at the lowest cost: the registry verifies it on every request.
        // The password goes through stdin (-i), never a process argument.
        var start = new ProcessStartInfo("htpasswd") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { "-niB", "-C", "4", this.Options.Username })
        {
            start.ArgumentList.Add(argument);
        }

        using Process htpasswd = Process.Start(start)!;
        htpasswd.StandardInput.WriteLine(this.Options.Password);
        htpasswd.StandardInput.Close();
        string line = htpasswd.StandardOutput.ReadToEnd();
        htpasswd.WaitForExit();
        File.WriteAllText(Path.Combine(this.root, "htpasswd"), line.Trim() + "\n");
    }
}
