using System.Net.WebSockets;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace RegistryCleaner.Maintenance;

/// <summary>
/// Runs a command in a container (<c>pods/exec</c> over a WebSocket), speaking whichever streaming protocol the API
/// server picks of the two offered: <c>v5.channel.k8s.io</c> (Kubernetes 1.30 and later, which can close single
/// channels) or <c>v4.channel.k8s.io</c>. Channel 1 is standard output, 2 standard error, 3 the final status, whose
/// JSON carries the exit code.
/// </summary>
internal static class PodExec
{
    /// <summary>Runs the command and streams its output lines.</summary>
    /// <param name="client">The API client.</param>
    /// <param name="namespace">The pod's namespace.</param>
    /// <param name="pod">The pod.</param>
    /// <param name="container">The container.</param>
    /// <param name="command">The command and its arguments (no shell).</param>
    /// <param name="onLine">Receives each line of standard output and standard error, one at a time.</param>
    /// <param name="cancellationToken">Cancels connecting; once connected the command runs to its end.</param>
    /// <returns>The exit code.</returns>
    /// <exception cref="RegistryHostException">The exec was refused, or the container could not run the command.</exception>
    public static async Task<int> RunAsync(Kubernetes client, string @namespace, string pod, string container, IReadOnlyList<string> command, Action<string> onLine, CancellationToken cancellationToken)
    {
        // KubernetesClient offers one protocol per call; offering v5 through the builder as well lets the server choose.
        Func<WebSocketBuilder> builders = client.CreateWebSocketBuilder;
        client.CreateWebSocketBuilder = () =>
        {
            WebSocketBuilder builder = builders();
            builder.Options.AddSubProtocol(WebSocketProtocol.V5BinaryWebsocketProtocol);
            return builder;
        };

        WebSocket socket;
        try
        {
            socket = await client.WebSocketNamespacedPodExecAsync(
                pod, @namespace, command, container, stderr: true, stdin: false, stdout: true, tty: false,
                webSocketSubProtocol: WebSocketProtocol.V4BinaryWebsocketProtocol, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            int code = (int)(ex.Response?.StatusCode ?? 0);
            string detail = ex.Body is V1Status refusal ? refusal.Message : ex.Response?.Content ?? ex.Message;
            throw new RegistryHostException(
                code == 403
                    ? $"Kubernetes refused the exec into pod {@namespace}/{pod} (403: {detail}): grant create on pods/exec in {@namespace}."
                    : $"The exec into pod {@namespace}/{pod} failed ({code}: {detail}).",
                ex);
        }
        catch (WebSocketException ex)
        {
            throw new RegistryHostException($"The exec into pod {@namespace}/{pod} could not connect: {ex.Message}", ex);
        }
        finally
        {
            client.CreateWebSocketBuilder = builders;
        }

        bool v5 = socket.SubProtocol == WebSocketProtocol.V5BinaryWebsocketProtocol;
        using var demuxer = new StreamDemuxer(socket, StreamType.RemoteCommand, ownsSocket: true, supportsClose: v5);
        using Stream stdout = demuxer.GetStream(ChannelIndex.StdOut, null);
        using Stream stderr = demuxer.GetStream(ChannelIndex.StdErr, null);
        using Stream error = demuxer.GetStream(ChannelIndex.Error, null);
        demuxer.Start();
        object gate = new();
        async Task PumpAsync(Stream stream)
        {
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (await reader.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                lock (gate)
                {
                    onLine(line);
                }
            }
        }

        Task<string> status = new StreamReader(error, Encoding.UTF8).ReadToEndAsync(CancellationToken.None);
        await Task.WhenAll(PumpAsync(stdout), PumpAsync(stderr), status).ConfigureAwait(false);
        string statusJson = await status.ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(statusJson))
        {
            throw new RegistryHostException($"The exec into pod {@namespace}/{pod} ended without a status (the connection was lost).");
        }

        try
        {
            return Kubernetes.GetExitCodeOrThrow(KubernetesJson.Deserialize<V1Status>(statusJson));
        }
        catch (KubernetesException ex)
        {
            throw new RegistryHostException($"'{string.Join(' ', command)}' could not run in {@namespace}/{pod} container {container}: {ex.Status?.Message ?? ex.Message}", ex);
        }
    }
}
