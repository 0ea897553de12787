using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Tests.MLNet;

/// <summary>Loads a model zip in a new process and writes the Score column of given feature rows (see Program.cs).</summary>
public static class FreshProcessScorer
{
    /// <summary>The command-line verb.</summary>
    public const string Command = "score-model";

    /// <summary>Child side: args = model path, features file (float32 rows of <see cref="SyntheticData.FeatureCount"/>), output file.</summary>
    public static int Run(string[] args)
    {
        var ml = new MLContext();
        var model = ml.Model.Load(args[0], out _);
        var rows = ReadFeatures(args[1]).Select(f => new BlobRow { Features = f, Label = SyntheticData.ClassNames[0] }).ToList();
        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
        using var output = new BinaryWriter(File.Create(args[2]));
        foreach (var score in scored.GetColumn<VBuffer<float>>("Score"))
            foreach (float v in score.DenseValues())
                output.Write(v);
        return 0;
    }

    /// <summary>Parent side: runs this test assembly as a new process on the model and returns the scores it wrote.</summary>
    public static float[] ScoreInNewProcess(string modelPath, IReadOnlyList<float[]> features, int scoreWidth)
    {
        string dir = Path.GetDirectoryName(modelPath)!;
        string input = Path.Combine(dir, "features.bin"), output = Path.Combine(dir, "scores.bin");
        using (var writer = new BinaryWriter(File.Create(input)))
            foreach (var row in features)
                foreach (float v in row)
                    writer.Write(v);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in new[] { typeof(FreshProcessScorer).Assembly.Location, Command, modelPath, input, output })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        string stdout = process.StandardOutput.ReadToEnd(), stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"The scoring process failed ({process.ExitCode}): {stdout} {stderr}");
        using var reader = new BinaryReader(File.OpenRead(output));
        var scores = new float[features.Count * scoreWidth];
        for (int i = 0; i < scores.Length; i++)
            scores[i] = reader.ReadSingle();
        return scores;
    }

    private static List<float[]> ReadFeatures(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var all = new float[bytes.Length / sizeof(float)];
        Buffer.BlockCopy(bytes, 0, all, 0, bytes.Length);
        return all.Chunk(SyntheticData.FeatureCount).ToList();
    }
}
