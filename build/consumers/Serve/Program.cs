// Loads a Qat model with Qat.MLNet.Runtime alone and checks that it scores exactly as it did at training time.
// Usage: Serve <model.zip> <scores.txt>
using Microsoft.ML;
using Qat.MLNet.Consumers;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Serve <model.zip> <scores.txt>");
    return 2;
}
if (AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "TorchSharp") || File.Exists(Path.Combine(AppContext.BaseDirectory, "TorchSharp.dll")))
{
    Console.Error.WriteLine("TorchSharp is present in the serving app");
    return 1;
}
var ml = new MLContext();
var model = ml.Model.Load(args[0], out _);
var test = ml.Data.LoadFromEnumerable(ConsumerData.Blobs(150, seed: 2));
string expected = File.ReadAllText(args[1]);
string actual = ConsumerData.ScoresText(model.Transform(test));
if (expected != actual)
{
    Console.Error.WriteLine("scores differ from the trainer's");
    return 1;
}
var engine = ml.Model.CreatePredictionEngine<BlobRow, Prediction>(model);
var one = engine.Predict(ConsumerData.Blobs(1, seed: 2)[0]);
Console.WriteLine($"served: {expected.Count(c => c == '\n')} rows scored identically to training time; first row predicted '{one.PredictedLabel}'");
return 0;

/// <summary>What the service reads back.</summary>
internal sealed class Prediction
{
    public uint PredictedLabel { get; set; }
}
