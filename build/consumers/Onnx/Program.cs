// Exports a saved Qat model to ONNX two ways and checks that ONNX Runtime predicts what the int8 engine predicts.
// Usage: Onnx <model.zip> <work folder>
using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Consumers;
using Qat.MLNet.Onnx;
using Qat.MLNet.OnnxRuntime;
using Qat.MLNet.Scoring;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Onnx <model.zip> <work folder>");
    return 2;
}
var ml = new MLContext();
var model = ml.Model.Load(args[0], out _);
var test = ml.Data.LoadFromEnumerable(ConsumerData.Blobs(150, seed: 2));
var expected = model.Transform(test).GetColumn<uint>("PredictedLabel").ToArray();

// 1. ML.NET's own converter, through ApplyOnnxModel.
string converted = Path.Combine(args[1], "converted.onnx");
using (var file = File.Create(converted))
    ml.Model.ConvertToOnnx(model, test, file);
var viaMlNet = ml.Transforms.ApplyOnnxModel(converted).Fit(test).Transform(test).GetColumn<uint[]>("PredictedLabel").Select(v => v[0]).ToArray();

// 2. The standalone export (integer form: the engine's own integers) of the Qat transformer (the last of the pipeline), through ApplyOnnxModel too.
var qat = model is TransformerChain<ITransformer> chain ? chain.OfType<QatTransformerBase>().Last() : (QatTransformerBase)model;
string standalone = Path.Combine(args[1], "standalone.onnx");
qat.ExportToOnnx(standalone, new QatOnnxExportOptions { OpsetVersion = 17, Form = QatOnnxForm.IntegerOperators });
var keyed = model is TransformerChain<ITransformer> c ? c.Take(c.Count() - 1).Aggregate(test, (d, t) => t.Transform(d)) : test;
var viaStandalone = ml.Transforms.ApplyOnnxModel(standalone).Fit(keyed).Transform(keyed).GetColumn<uint[]>("PredictedLabel").Select(v => v[0]).ToArray();

// 3. ONNX Runtime as Transform's block engine (Qat.MLNet.OnnxRuntime).
using var ort = qat.WithOnnxRuntime(numberOfThreads: 1);
var viaOrt = ort.Transform(keyed).GetColumn<uint>("PredictedLabel").ToArray();

int differ1 = expected.Zip(viaMlNet).Count(p => p.First != p.Second), differ2 = expected.Zip(viaStandalone).Count(p => p.First != p.Second),
    differ3 = expected.Zip(viaOrt).Count(p => p.First != p.Second);
if (differ1 != 0 || differ2 != 0 || differ3 != 0)
{
    Console.Error.WriteLine($"ONNX predictions differ from the int8 engine's: {differ1} (ConvertToOnnx), {differ2} (standalone), {differ3} (WithOnnxRuntime) of {expected.Length} rows");
    return 1;
}
Console.WriteLine($"exported: ConvertToOnnx ({new FileInfo(converted).Length} bytes), standalone ({new FileInfo(standalone).Length} bytes) and WithOnnxRuntime predict all {expected.Length} rows as the int8 engine does");
return 0;
