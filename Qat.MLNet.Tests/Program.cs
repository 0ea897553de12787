using Qat.MLNet.Tests.MLNet;

namespace Qat.MLNet.Tests;

/// <summary>
/// Entry point of the test assembly (replacing the test SDK's empty one). With "score-model" it loads a saved ML.NET model
/// in this fresh process and writes its scores, so the persistence tests can check that a model loads without anything
/// the saving process had in memory; with "fuzz-model" it loads mutated model files (ModelFileFuzzTests), so a crash
/// kills this child, not the test run.
/// </summary>
public static class Program
{
    /// <summary>Runs a helper command; without one it does nothing (the test runner does not call it).</summary>
    public static int Main(string[] args) => args.Length == 0 ? 0 : args[0] switch
    {
        FreshProcessScorer.Command => FreshProcessScorer.Run(args[1..]),
        Inference.ModelFileFuzzer.Command => Inference.ModelFileFuzzer.Run(args[1..]),
        _ => 0,
    };
}
