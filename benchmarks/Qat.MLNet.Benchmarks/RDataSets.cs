using System.Diagnostics;
using Qat.MLNet.Examples;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// Eleven more data sets the defaults were not tuned on, from the data that ships with R (Debian's r-base-core and
/// r-cran-mass; nothing is downloaded, nothing is shipped here: MASS is GPL, its data sets are published research data):
/// benchmarks/data-sources/r-datasets.R writes them as CSV into a cache folder the first time they are asked for.
/// </summary>
internal static class RDataSets
{
    /// <summary>What <c>apt-get</c> installs to make these sets available.</summary>
    public const string Packages = "r-base-core r-cran-mass";

    /// <summary>The sets, with their CSV files in <see cref="Folder"/> (see the R script for what each column is).</summary>
    public static IReadOnlyList<TabularDataSet> All { get; } =
    [
        new("boston (R MASS)", File("boston"), TabularTask.Regression),
        new("cpus (R MASS)", File("cpus"), TabularTask.Regression),
        new("quakes (R datasets)", File("quakes"), TabularTask.Regression),
        new("nlschools (R MASS)", File("nlschools"), TabularTask.Regression) { GroupColumn = 0 },
        new("pima (R MASS)", File("pima"), TabularTask.Binary, "Yes"),
        new("biopsy (R MASS)", File("biopsy"), TabularTask.Binary, "malignant") { GroupColumn = 0 },
        new("birthwt (R MASS)", File("birthwt"), TabularTask.Binary, "1") { CategoricalColumns = [2] },
        new("infert (R datasets)", File("infert"), TabularTask.Binary, "1") { GroupColumn = 5, CategoricalColumns = [0] },
        new("synth (R MASS)", File("synth"), TabularTask.Binary, "1"),
        new("fgl (R MASS)", File("fgl"), TabularTask.Multiclass),
        new("crabs (R MASS)", File("crabs"), TabularTask.Multiclass),
    ];

    /// <summary>Where the CSV files go: $XDG_CACHE_HOME/qat-mlnet/r-datasets, else ~/.cache/qat-mlnet/r-datasets.</summary>
    public static string Folder
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg;
            return Path.Combine(root, "qat-mlnet", "r-datasets");
        }
    }

    /// <summary>
    /// The sets, their files written by Rscript if any is missing; none, with the reason on the console, when R or MASS is
    /// not installed.
    /// </summary>
    public static IReadOnlyList<TabularDataSet> Available()
    {
        if (All.All(s => System.IO.File.Exists(s.RelativePath)))
            return All;
        string script = Script();
        try
        {
            using var r = Process.Start(new ProcessStartInfo("Rscript", [script, Folder]) { RedirectStandardError = true })!;
            string errors = r.StandardError.ReadToEnd();
            r.WaitForExit();
            if (r.ExitCode != 0)
            {
                Console.WriteLine($"// Rscript {script} failed ({errors.Trim()}): `apt-get install -y {Packages}` adds the R data sets.");
                return [];
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.WriteLine($"// Rscript not found: `apt-get install -y {Packages}` adds the R data sets.");
            return [];
        }
        return All;
    }

    private static string File(string name) => Path.Combine(Folder, name + ".csv");

    private static string Script()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "benchmarks", "data-sources", "r-datasets.R");
            if (System.IO.File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException($"benchmarks/data-sources/r-datasets.R was not found above {AppContext.BaseDirectory}.");
    }
}
