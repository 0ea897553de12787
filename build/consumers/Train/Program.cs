// Trains a Qat model as a user would, saves it, and writes its scores so that the serving app can compare. ProjectRef
// compiles this file too, against the repository's project files (TorchSharp then loads through the run-time loader).
// Usage: Train <model.zip> <scores.txt>
using Microsoft.ML;
using Qat.MLNet;
using Qat.MLNet.Consumers;
using Qat.MLNet.Trainers;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Train <model.zip> <scores.txt>");
    return 2;
}
var ml = new MLContext(seed: 1);
var train = ml.Data.LoadFromEnumerable(ConsumerData.Blobs(600, seed: 1));
var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
    .Append(ml.MulticlassClassification.Trainers.Qat(new QatMulticlassTrainer.Options
    {
        Network = QatNetwork.Mlp(16),
        NumberOfFloatEpochs = 3,
        NumberOfEpochs = 3,
        Seed = 1,
    }));
var model = pipeline.Fit(train);
var test = ml.Data.LoadFromEnumerable(ConsumerData.Blobs(150, seed: 2));
var scored = model.Transform(test);
var metrics = ml.MulticlassClassification.Evaluate(scored);
Console.WriteLine($"trained: macro accuracy {metrics.MacroAccuracy:F3}; TorchSharp native: {Qat.MLNet.Native.LibTorchSharpLoader.Result}");
if (metrics.MacroAccuracy < 0.9)
{
    Console.Error.WriteLine("accuracy below 0.9: training did not work");
    return 1;
}
ml.Model.Save(model, train.Schema, args[0]);
File.WriteAllText(args[1], ConsumerData.ScoresText(scored));
return 0;
