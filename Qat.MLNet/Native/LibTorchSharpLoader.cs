using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Qat.MLNet.Build;

namespace Qat.MLNet.Native;

/// <summary>
/// Makes TorchSharp's native library load wherever Qat.MLNet is used, before TorchSharp's first native call.
/// </summary>
/// <remarks>
/// <para>
/// TorchSharp 0.107's <c>libLibTorchSharp.so</c> was linked by GCC 13 and requires the symbol version
/// <c>GLIBCXX_3.4.32</c>, which Debian 12, Ubuntu 22.04 and every distribution with GCC &lt; 13 lack, although the one
/// symbol bound to it (<c>std::ios_base_library_init()</c>) is never called. Builds that import Qat.MLNet's MSBuild
/// targets (this repository, and consumers of the NuGet package) patch the copy in their output. Everything else (a
/// project outside the repository with a ProjectReference, a <c>dotnet test</c> host whose natives resolve from the NuGet
/// cache, an output folder copied by hand) is covered here, at run time:
/// </para>
/// <list type="number">
/// <item>Nothing is done off Linux, or where the libstdc++ in the process defines <c>GLIBCXX_3.4.32</c>, or where the
/// <c>libLibTorchSharp.so</c> the runtime would load already carries the weak requirement.</item>
/// <item>Otherwise the library is copied into a private cache folder (<c>$QAT_MLNET_NATIVE_CACHE</c>, else
/// <c>$XDG_CACHE_HOME/qat-mlnet/native</c>, else <c>~/.cache/qat-mlnet/native</c>, else the temp folder), keyed by the
/// SHA-256 of the original, and the copy gets the same verified ELF edit as the build-time patch (only that one
/// requirement, only when nothing else is bound to it). The copy is written under a unique temporary name and renamed
/// into place, so concurrent first uses in several processes are safe; the original and the NuGet cache are never
/// written.</item>
/// <item>libtorch's libraries that it needs are loaded from where the runtime would find them, then the private copy.
/// Its soname is <c>libLibTorchSharp.so</c>, so TorchSharp's own load by name and every later P/Invoke resolve to it.</item>
/// </list>
/// <para>
/// Qat.MLNet runs <see cref="EnsureLoaded"/> from its module initializer (failures are kept, not thrown, there) and again
/// at its entry points (trainers' Fit, <c>Quantizer</c>), which throw the kept failure with the file and the reason.
/// Code that calls TorchSharp before touching any Qat.MLNet type calls <see cref="EnsureLoaded"/> first.
/// </para>
/// </remarks>
public static class LibTorchSharpLoader
{
    private const string LibraryFile = "libLibTorchSharp.so";
    private static readonly object Gate = new();
    private static LibTorchSharpLoadResult? _result;

    /// <summary>What the loader did in this process; null until <see cref="EnsureLoaded"/> (or the module initializer) ran.</summary>
    public static LibTorchSharpLoadResult? Result
    {
        get
        {
            lock (Gate)
                return _result;
        }
    }

    /// <summary>
    /// Makes sure TorchSharp's native library will load: a no-op where nothing is needed, else loads a patched private
    /// copy (see the remarks of <see cref="LibTorchSharpLoader"/>). Safe to call from several threads and many times:
    /// the work runs once per process and a failure is reported again on every call.
    /// </summary>
    /// <returns>What was done.</returns>
    /// <exception cref="DllNotFoundException">
    /// The library or libtorch cannot be found, the private copy cannot be written or patched, or it does not load; the
    /// message names the file and the reason, and says how to fix it.
    /// </exception>
    public static LibTorchSharpLoadResult EnsureLoaded()
    {
        LibTorchSharpLoadResult result;
        lock (Gate)
            result = _result ??= Prepare();
        if (result.Failure is { } failure)
            throw new DllNotFoundException(failure);
        return result;
    }

    /// <summary>Runs the work once, at module load, keeping any failure for the entry points to throw.</summary>
    internal static void TryEnsureLoaded()
    {
        try
        {
            EnsureLoaded();
        }
        catch (DllNotFoundException)
        {
            // Kept in Result; Fit, Quantizer and explicit calls throw it with its message.
        }
    }

    private static LibTorchSharpLoadResult Prepare()
    {
        if (!OperatingSystem.IsLinux())
            return LibTorchSharpLoadResult.NotNeeded("not Linux: TorchSharp's own loader is used");
        try
        {
            return PrepareOnLinux();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ElfFormatException or BadImageFormatException)
        {
            return LibTorchSharpLoadResult.Failed($"Qat.MLNet could not prepare TorchSharp's native library {LibraryFile}: {e.Message}");
        }
    }

    private static LibTorchSharpLoadResult PrepareOnLinux()
    {
        string? libStdCxx = LoadedLibStdCxx() ?? ElfVersionNeedPatcher.FindSystemLibStdCxx();
        if (libStdCxx is not null && ElfVersionNeedPatcher.Defines(libStdCxx, ElfVersionNeedPatcher.LibTorchSharpGlibcxxVersion))
            return LibTorchSharpLoadResult.NotNeeded($"{libStdCxx} defines {ElfVersionNeedPatcher.LibTorchSharpGlibcxxVersion}");

        var folders = NativeSearchFolders();
        string? original = FindInFolders(LibraryFile, folders);
        if (original is null)
            return LibTorchSharpLoadResult.Failed(
                $"TorchSharp's native library {LibraryFile} was not found in any native search folder ({string.Join(", ", folders)}). " +
                "It comes with the TorchSharp package that Qat.MLNet references: restore and build the project again, and publish with the same runtime identifier.");
        var requirement = ElfVersionNeedPatcher.ReadRequirements(original)
            .FirstOrDefault(r => r.Version == ElfVersionNeedPatcher.LibTorchSharpGlibcxxVersion);
        if (requirement is null || requirement.IsWeak)
            return LibTorchSharpLoadResult.NotNeeded($"{original} does not strongly require {ElfVersionNeedPatcher.LibTorchSharpGlibcxxVersion} (patched at build time)");

        string copy = MakePrivateCopy(original, CacheRoot());
        LoadDependencies(copy, Path.GetDirectoryName(original)!, folders);
        try
        {
            NativeLibrary.Load(copy);
        }
        catch (DllNotFoundException e)
        {
            return LibTorchSharpLoadResult.Failed(
                $"The patched private copy {copy} of {original} does not load: {e.Message} " +
                "Delete that folder to have it made again; if the error names another library, that library is missing from the system.");
        }
        return LibTorchSharpLoadResult.Loaded(original, copy);
    }

    /// <summary>The <c>libstdc++.so.6</c> mapped into this process (the .NET host links it), from <c>/proc/self/maps</c>.</summary>
    private static string? LoadedLibStdCxx()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash >= 0 && line.Contains("/libstdc++.so.6", StringComparison.Ordinal))
                    return line[slash..].Trim();
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    /// <summary>Where the runtime looks for native libraries: TorchSharp's folder (and its <c>cpu</c> consolidation folder), the app, and the host's native search folders (the NuGet cache's <c>runtimes/linux-x64/native</c> folders when natives are not copied locally).</summary>
    private static List<string> NativeSearchFolders()
    {
        var folders = new List<string>();
        void Add(string? folder)
        {
            if (!string.IsNullOrEmpty(folder) && Directory.Exists(folder))
            {
                string full = Path.GetFullPath(folder);
                if (!folders.Contains(full))
                    folders.Add(full);
            }
        }
        string? torchSharp = Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location);
        Add(torchSharp);
        Add(AppContext.BaseDirectory);
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirectories)
            foreach (string folder in searchDirectories.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                Add(folder);
        if (torchSharp is not null)
            Add(Path.Combine(torchSharp, "cpu"));
        return folders;
    }

    private static string? FindInFolders(string file, IEnumerable<string> folders) =>
        folders.Select(folder => Path.Combine(folder, file)).FirstOrDefault(File.Exists);

    /// <summary>
    /// The verified, patched copy of <paramref name="original"/> under <paramref name="cacheRoot"/>, made once per distinct
    /// original (keyed by its SHA-256); safe when several threads or processes make it at once. The original is only read.
    /// </summary>
    internal static string MakePrivateCopy(string original, string cacheRoot)
    {
        string hash;
        using (var stream = File.OpenRead(original))
            hash = Convert.ToHexStringLower(SHA256.HashData(stream))[..32];
        string folder = Path.Combine(cacheRoot, hash);
        string target = Path.Combine(folder, LibraryFile);
        if (File.Exists(target) && IsPatched(target))
            return target;
        Directory.CreateDirectory(folder);
        string temporary = Path.Combine(folder, $"{LibraryFile}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.Copy(original, temporary);
            ElfVersionNeedPatcher.Patch(temporary, ElfVersionNeedPatcher.LibTorchSharpGlibcxxVersion, ElfVersionNeedPatcher.LibTorchSharpAllowedSymbols);
            if (!IsPatched(temporary))
                throw new ElfFormatException($"{temporary}: the patched copy does not read back as weak.");
            // Atomic on one file system: a concurrent process renames an identical file over it, or finds it in place.
            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
        }
        return target;
    }

    private static bool IsPatched(string path) =>
        ElfVersionNeedPatcher.ReadRequirements(path).Any(r => r.Version == ElfVersionNeedPatcher.LibTorchSharpGlibcxxVersion && r.IsWeak);

    /// <summary>The private cache folder; never inside the NuGet cache.</summary>
    private static string CacheRoot()
    {
        string? configured = Environment.GetEnvironmentVariable("QAT_MLNET_NATIVE_CACHE");
        string root = !string.IsNullOrEmpty(configured) ? configured
            : Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? Path.Combine(xdg, "qat-mlnet", "native")
            : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home ? Path.Combine(home, ".cache", "qat-mlnet", "native")
            : Path.Combine(Path.GetTempPath(), $"qat-mlnet-native-{Environment.UserName}");
        root = Path.GetFullPath(root);
        string? nuget = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages ? packages
            : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } user ? Path.Combine(user, ".nuget", "packages") : null;
        if (nuget is not null && (root + "/").StartsWith(Path.GetFullPath(nuget).TrimEnd('/') + "/", StringComparison.Ordinal))
            throw new IOException($"the native cache folder {root} lies inside the NuGet package cache {nuget}: set QAT_MLNET_NATIVE_CACHE to a folder outside it.");
        return root;
    }

    /// <summary>
    /// Loads, by full path, each library the copy needs that sits beside the original or in a native search folder
    /// (libtorch's <c>libc10.so</c>, <c>libtorch_cpu.so</c>, <c>libtorch.so</c>): the copy's <c>$ORIGIN</c> run path points
    /// at the cache, so the loader must find them already loaded, by soname.
    /// </summary>
    private static void LoadDependencies(string copy, string originalFolder, List<string> folders)
    {
        var searchOrder = new List<string> { originalFolder };
        searchOrder.AddRange(folders.Where(f => f != originalFolder));
        var missing = new List<string>();
        // Reverse DT_NEEDED order puts the leaves (libc10) before the libraries that need them.
        foreach (string needed in ElfVersionNeedPatcher.ReadNeededLibraries(copy).Reverse())
        {
            if (!needed.StartsWith("libtorch", StringComparison.Ordinal) && !needed.StartsWith("libc10", StringComparison.Ordinal))
                continue; // system libraries (libstdc++, libc, libm, ...) come from the system's search path
            string? path = FindInFolders(needed, searchOrder);
            if (path is null)
            {
                missing.Add(needed);
                continue;
            }
            try
            {
                NativeLibrary.Load(path);
            }
            catch (DllNotFoundException e)
            {
                throw new IOException($"libtorch's {path} does not load: {e.Message}", e);
            }
        }
        if (missing.Count > 0)
            throw new IOException(
                $"libtorch ({string.Join(", ", missing)}) was not found beside {originalFolder} or in the native search folders. " +
                "Qat.MLNet references TorchSharp without a libtorch: add the Qat.MLNet.Cpu package (or TorchSharp-cpu) for CPU training, or a TorchSharp CUDA bundle.");
    }
}
