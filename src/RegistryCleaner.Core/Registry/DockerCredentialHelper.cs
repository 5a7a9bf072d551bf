using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RegistryCleaner.Registry;

/// <summary>A credential helper failed: the message names the helper, never what it wrote (it may hold secrets).</summary>
public sealed class CredentialHelperException : Exception
{
    /// <summary>Initializes the exception.</summary>
    public CredentialHelperException()
    {
    }

    /// <summary>Initializes the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public CredentialHelperException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes the exception with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause (never one carrying the helper's output).</param>
    public CredentialHelperException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Runs <c>docker-credential-&lt;name&gt; get</c> the way Docker does (docker/docker-credential-helpers
/// <c>client/client.go</c>): the server URL on standard input, <c>{"ServerURL","Username","Secret"}</c> on standard
/// output. A <c>Username</c> of <c>&lt;token&gt;</c> makes <c>Secret</c> an identity (refresh) token. Nothing secret goes
/// into the process arguments, and neither output stream of a failed helper is ever repeated.
/// </summary>
public static partial class DockerCredentialHelper
{
    /// <summary>How long a helper may take by default.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    // What helpers print (on standard output) when they hold nothing for the server.
    private const string NotFoundMessage = "credentials not found in native keychain";

    private const int MaxOutput = 1 << 20;

    /// <summary>Gets the program name of a helper: <c>docker-credential-&lt;name&gt;</c>.</summary>
    /// <param name="name">The helper name, as in <c>credHelpers</c> or <c>credsStore</c>.</param>
    /// <returns>The program name.</returns>
    public static string ProgramName(string name) => "docker-credential-" + name;

    /// <summary>Asks a helper for the credential of <paramref name="serverUrl"/>.</summary>
    /// <param name="name">The helper name (letters, digits, <c>.</c>, <c>_</c>, <c>-</c>; never a path).</param>
    /// <param name="serverUrl">What goes on standard input: the registry host[:port], or <c>https://index.docker.io/v1/</c> for Docker Hub.</param>
    /// <param name="timeout">How long the helper may take; it is killed after that.</param>
    /// <param name="cancellationToken">Cancels the call (the helper is killed).</param>
    /// <returns>The credential (without a source yet), or <see langword="null"/> when the helper has none for the server.</returns>
    /// <exception cref="FileNotFoundException">No program of that name is on PATH.</exception>
    /// <exception cref="CredentialHelperException">The helper failed, timed out or answered something that is not a credential.</exception>
    public static async Task<RegistryCredential?> GetAsync(string name, string serverUrl, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(serverUrl);
        string program = ProgramName(name);
        if (!HelperName().IsMatch(name))
        {
            throw new CredentialHelperException($"The credential helper name '{name}' is not a plain program name (letters, digits, '.', '_', '-'): it is not run.");
        }

        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("get");
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new FileNotFoundException($"{program} is not on PATH.", program);
        }
        catch (Win32Exception ex)
        {
            throw new FileNotFoundException($"The credential helper {program} is not on PATH.", program, ex);
        }

        using (process)
        {
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timer.CancelAfter(timeout);

            // Killing the helper closes its pipes, so reads that a cancelled token cannot interrupt end too.
            using CancellationTokenRegistration killer = timer.Token.Register(() => Kill(process));
            try
            {
                Task<string> output = ReadBoundedAsync(process.StandardOutput, timer.Token);

                // Standard error is drained and dropped: helpers may print what they were given or hold.
                Task error = process.StandardError.BaseStream.CopyToAsync(Stream.Null, timer.Token);
                try
                {
                    await process.StandardInput.WriteAsync(serverUrl.AsMemory(), timer.Token).ConfigureAwait(false);
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // A helper that exits without reading its input is judged by its exit code below.
                }

                string text = await output.ConfigureAwait(false);
                await error.ConfigureAwait(false);
                await process.WaitForExitAsync(timer.Token).ConfigureAwait(false);
                if (process.ExitCode != 0)
                {
                    if (text.Contains(NotFoundMessage, StringComparison.OrdinalIgnoreCase))
                    {
                        return null;
                    }

                    throw new CredentialHelperException($"The credential helper {program} failed (exit code {process.ExitCode}); its output is not shown because it may hold secrets. Run '{program} get' yourself to see why.");
                }

                return Parse(text, program);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Kill(process);
                throw new CredentialHelperException($"The credential helper {program} did not answer within {timeout.TotalSeconds:0} s and was stopped.");
            }
            catch (OperationCanceledException)
            {
                Kill(process);
                throw;
            }
            finally
            {
                Kill(process);
            }
        }
    }

    private static RegistryCredential? Parse(string text, string program)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            JsonElement root = document.RootElement;
            string? username = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("Username", out JsonElement u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
            string? secret = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("Secret", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            if (string.IsNullOrEmpty(secret))
            {
                return null;
            }

            return username == "<token>"
                ? RegistryCredential.FromIdentityToken(username, secret)
                : new RegistryCredential(username ?? string.Empty, secret);
        }
        catch (JsonException)
        {
            // The exception text may quote the output: leave it out.
            throw new CredentialHelperException($"The credential helper {program} answered something that is not its JSON credential; it is not shown because it may hold secrets.");
        }
    }

    private static async Task<string> ReadBoundedAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        char[] buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (text.Length + read > MaxOutput)
            {
                throw new CredentialHelperException("A credential helper wrote more than 1 MiB; it is not read.");
            }

            text.Append(buffer, 0, read);
        }

        return text.ToString();
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // Already gone.
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex HelperName();
}
