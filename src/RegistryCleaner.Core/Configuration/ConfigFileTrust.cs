using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace RegistryCleaner.Configuration;

/// <summary>
/// Whether a configuration file found implicitly (<c>REGISTRY_CLEANER_CONFIG</c>, <c>./config.yaml</c>) may be
/// trusted. Such a file decides where the registry and MongoDB passwords go and which kubeconfig (and so which
/// <c>exec</c> plugin) is used, so, as OpenSSH treats its own config, on Unix it is read only when it is owned by the
/// current user or by root and nobody else can write it (no group or other write bit). The check is made on the open
/// file, which is then read: a symbolic link is judged by the file it points to, and the file cannot be swapped between
/// the check and the read. The folder is not judged. On Windows there is no check (files there carry ACLs, which this
/// does not judge); a file given with <c>-ConfigPath</c>, and the module's bundled file, are never checked.
/// </summary>
internal static class ConfigFileTrust
{
    // Group and other write bits (0o022).
    private const int GroupOrOtherWrite = 0x12;

    /// <summary>Returns why an open file may not be trusted, or <see langword="null"/> when it may.</summary>
    /// <param name="file">The open file.</param>
    /// <returns>
    /// A phrase such as "it is writable by group or others (mode 0666)" and whether the owner is someone else, or
    /// <see langword="null"/>.
    /// </returns>
    public static (string Reason, bool ForeignOwner)? Problem(SafeFileHandle file)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        uint self;
        FileStatus status;
        try
        {
            self = NativeMethods.GetEUid();
            if (NativeMethods.FStat(file, out status) != 0)
            {
                return ($"its owner and mode could not be read (error {Marshal.GetLastPInvokeError()})", false);
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // Fail closed: an unchecked implicit file is not read; -ConfigPath still works.
            return ($"its owner cannot be read on this system ({ex.Message})", false);
        }

        string mode = Convert.ToString(status.Mode & 0xFFF, 8).PadLeft(4, '0');
        var problems = new List<string>();
        bool foreignOwner = status.Uid != self && status.Uid != 0;
        if (foreignOwner)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"it is owned by uid {status.Uid}, not by you (uid {self}) or root"));
        }

        if ((status.Mode & GroupOrOtherWrite) != 0)
        {
            problems.Add($"it is writable by group or others (mode {mode})");
        }

        return problems.Count == 0 ? null : (string.Join(" and ", problems), foreignOwner);
    }

    /// <summary>The effective user ID of this process, or <see langword="null"/> on Windows or where it cannot be read.</summary>
    /// <returns>The uid.</returns>
    public static uint? EffectiveUserId()
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        try
        {
            return NativeMethods.GetEUid();
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    // The leading fields of the runtime's own portable stat result (System.Native's FileStatus, the one File.GetUnixFileMode
    // reads): the same on every Unix and architecture .NET runs on, unlike libc's struct stat. The rest of the
    // structure is not read; Size leaves room for all of it.
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    private struct FileStatus
    {
        public int Flags;
        public int Mode;
        public uint Uid;
        public uint Gid;
    }

    private static class NativeMethods
    {
        [DllImport("libSystem.Native", EntryPoint = "SystemNative_FStat", SetLastError = true)]
        public static extern int FStat(SafeFileHandle fd, out FileStatus output);

        [DllImport("libSystem.Native", EntryPoint = "SystemNative_GetEUid")]
        public static extern uint GetEUid();
    }
}
