using System.Diagnostics;
using RegistryCleaner.Tests.Infrastructure;
using RegistryCleaner.Workloads;
using Xunit.Abstractions;

namespace RegistryCleaner.Tests.Workloads;

/// <summary>A fact that runs only when <c>REGISTRYCLEANER_BENCH=1</c>: speed checks are measured by hand, never asserted.</summary>
public sealed class BenchmarkFactAttribute : FactAttribute
{
    /// <summary>Skips unless the benchmark variable is set.</summary>
    public BenchmarkFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("REGISTRYCLEANER_BENCH") != "1")
        {
            Skip = "Benchmark: run with REGISTRYCLEANER_BENCH=1.";
        }
    }
}

public sealed class WorkloadScanBenchmark(ITestOutputHelper output)
{
    [BenchmarkFact]
    public async Task Scan_of_20000_pods_and_4000_controllers_compared_with_kubectl()
    {
        await using KubernetesApiStandIn standIn = await KubernetesApiStandIn.StartAsync(token: null);
        var clock = Stopwatch.StartNew();
        standIn.Add(KubernetesSampleCluster.Generate(pods: 20_000, controllers: 4_000));
        output.WriteLine($"stand-in filled in {clock.ElapsedMilliseconds} ms");
        DirectoryInfo directory = Directory.CreateTempSubdirectory("registrycleaner-bench-");
        try
        {
            string kubeconfig = Path.Combine(directory.FullName, "kubeconfig");
            standIn.WriteKubeConfig(kubeconfig);

            for (int run = 1; run <= 3; run++)
            {
                clock.Restart();
                WorkloadScan scan = await KubernetesWorkloadScanner.ScanAsync(new WorkloadScanOptions { KubeConfigPath = kubeconfig });
                UsageSnapshot snapshot = scan.ToUsageSnapshot();
                output.WriteLine($"scanner run {run}: {clock.ElapsedMilliseconds} ms, {snapshot.Images.Count} images, allocated {GC.GetTotalAllocatedBytes() / 1_000_000} MB so far");
            }

            for (int run = 1; run <= 2; run++)
            {
                var start = new ProcessStartInfo("kubectl", ["get", "pods,deploy,rs,sts,ds,rc,jobs,cronjobs", "-A", "-o", "json", "--kubeconfig", kubeconfig, "--cache-dir", Path.Combine(directory.FullName, "cache")])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                };
                clock.Restart();
                using Process kubectl = Process.Start(start)!;
                Task<string> error = kubectl.StandardError.ReadToEndAsync();
                long bytes = 0;
                var buffer = new char[65536];
                int read;
                while ((read = await kubectl.StandardOutput.ReadAsync(buffer)) > 0)
                {
                    bytes += read;
                }

                await kubectl.WaitForExitAsync();
                output.WriteLine($"kubectl run {run}: {clock.ElapsedMilliseconds} ms, exit {kubectl.ExitCode}, {bytes / 1_000_000} M chars {(await error).Trim()}");
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
