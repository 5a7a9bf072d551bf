using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace RegistryCleaner.Deletion;

/// <summary>
/// Opens a journal for one appended line: exclusively locked, created owner-only (0600, its folder 0700) and never
/// through a symbolic link. On Linux the open itself refuses a link (<c>O_NOFOLLOW</c>, and <c>O_EXCL</c> when it
/// creates), so nothing can swap one in between a check and the open. Elsewhere the path is checked before and after
/// the open; a link swapped in and out again between those checks is the remaining race there.
/// </summary>
internal static class JournalFile
{
    private const int ORdWr = 0x2;
    private const int OCreat = 0x40;
    private const int OExcl = 0x80;
    private const int OCloExec = 0x80000;

    // O_SYNC, as FileOptions.WriteThrough: each line is on disk when the write returns.
    private const int OSync = 0x101000;
    private const int EIntr = 4;
    private const int EAgain = 11;
    private const int EExist = 17;
    private const int ELoop = 40;
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;
    private const int AtEmptyPath = 0x1000;
    private const int StatxType = 0x1;
    private const int FileTypeMask = 0xF000;
    private const int RegularFile = 0x8000;

    /// <summary>Opens the journal for reading and appending, creating it (and its folder) when absent.</summary>
    /// <param name="path">The journal path.</param>
    /// <returns>The open file, exclusively locked until disposed.</returns>
    /// <exception cref="UnsafeJournalPathException">The path is a symbolic link or not a regular file.</exception>
    /// <exception cref="IOException">Another writer holds the lock (try again), or the file cannot be opened.</exception>
    public static FileStream OpenForAppend(string path)
    {
        RefuseLink(path);
        string? directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                // Every folder created for the journal is the owner's alone (the mode is applied to the last one only).
                var missing = new Stack<string>();
                for (string? folder = directory; !string.IsNullOrEmpty(folder) && !Directory.Exists(folder); folder = Path.GetDirectoryName(folder))
                {
                    missing.Push(folder);
                }

                while (missing.TryPop(out string? folder))
                {
                    Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }
        }

        return NoFollowFlag() is int noFollow ? OpenNoFollow(path, noFollow) : OpenChecked(path);
    }

    private static int? NoFollowFlag()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        // O_NOFOLLOW differs by architecture; the other flags used here are the same on these.
        return RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 => 0x20000,
            Architecture.Arm64 or Architecture.Arm => 0x8000,
            _ => null,
        };
    }

    private static UnsafeJournalPathException LinkRefused(string path, string? target) =>
        new($"The deletion journal '{path}' is a symbolic link{(target is null ? string.Empty : $" (to '{target}')")}: a journal is never written through a link, which could point anywhere. Remove the link or give another -JournalPath.");

    private static UnsafeJournalPathException NotAFile(string path) =>
        new($"The deletion journal '{path}' is not a regular file. Give another -JournalPath.");

    private static void RefuseLink(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is { } target)
        {
            throw LinkRefused(path, target);
        }

        if (info.Exists && info.Attributes.HasFlag(FileAttributes.ReparsePoint))
        {
            throw LinkRefused(path, null);
        }
    }

    private static FileStream OpenNoFollow(string path, int noFollow)
    {
        // Exclusive create first (0600), so a new journal is ours alone; otherwise open what is there, never a link.
        int fd = Open(path, ORdWr | OCreat | OExcl | OCloExec | OSync | noFollow, Convert.ToUInt32("600", 8));
        if (fd < 0 && Marshal.GetLastPInvokeError() == EExist)
        {
            fd = Open(path, ORdWr | OCloExec | OSync | noFollow, 0);
        }

        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == ELoop)
            {
                throw LinkRefused(path, new FileInfo(path).LinkTarget);
            }

            throw new IOException($"Cannot open the deletion journal '{path}': {Marshal.GetPInvokeErrorMessage(errno)}.");
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            // The same lock .NET takes for FileShare.None, so concurrent runs (and readers) wait for each other.
            while (Flock(fd, LockExclusive | LockNonBlocking) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno != EIntr)
                {
                    throw new IOException(errno == EAgain
                        ? $"The deletion journal '{path}' is being written by another run."
                        : $"Cannot lock the deletion journal '{path}': {Marshal.GetPInvokeErrorMessage(errno)}.");
                }
            }

            if (IsRegularFile(fd) == false)
            {
                throw NotAFile(path);
            }

            var stream = new FileStream(handle, FileAccess.ReadWrite, 0);
            if (!stream.CanSeek)
            {
                // Without statx (an old C library) this is the check left: pipes and sockets cannot seek.
                stream.Dispose();
                throw NotAFile(path);
            }

            return stream;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static bool? IsRegularFile(int fd)
    {
        // statx's layout is the same on every architecture: stx_mode is the 16 bits at offset 28.
        byte[] buffer = new byte[256];
        try
        {
            return Statx(fd, string.Empty, AtEmptyPath, StatxType, buffer) == 0
                ? (BitConverter.ToUInt16(buffer, 28) & FileTypeMask) == RegularFile
                : null;
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static FileStream OpenChecked(string path)
    {
        FileStreamOptions Options(FileMode mode)
        {
            var options = new FileStreamOptions { Mode = mode, Access = FileAccess.ReadWrite, Share = FileShare.None, BufferSize = 0, Options = FileOptions.WriteThrough };
            if (mode == FileMode.CreateNew && !OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            return options;
        }

        try
        {
            // Exclusive create refuses whatever is at the path, a link included.
            return new FileStream(path, Options(FileMode.CreateNew));
        }
        catch (IOException) when (File.Exists(path) || new FileInfo(path).LinkTarget is not null)
        {
            // It exists (another run created it, or it was there): open it below and check it is still no link.
        }

        RefuseLink(path);
        var stream = new FileStream(path, Options(FileMode.Open));
        try
        {
            RefuseLink(path);
            if (!stream.CanSeek)
            {
                throw NotAFile(path);
            }

            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mode);

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int Flock(int fd, int operation);

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
}
