using System.Diagnostics;
using Qat.MLNet.Inference;

// Usage: Qat.MLNet.ColdStart <model file> [batch]. Prints load time, the first call, calls 2-200, 201-1000 and steady state.
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Qat.MLNet.ColdStart <model file saved by QuantizedModel.Save> [batch]");
    return 2;
}
int batch = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1;
var clock = Stopwatch.StartNew();
var model = QuantizedModel.Load(args[0]);
double load = clock.Elapsed.TotalMilliseconds;
var random = new Random(1);
var input = Enumerable.Range(0, batch * model.InputSize).Select(_ => (float)random.NextDouble()).ToArray();
var output = new float[batch * model.OutputSize];

double Calls(int n)
{
    var c = Stopwatch.StartNew();
    for (int i = 0; i < n; i++)
        model.Predict(input, output, batch);
    return c.Elapsed.TotalMicroseconds / n;
}

double first = Calls(1), next = Calls(199), after200 = Calls(800);
double mean1000 = (first + 199 * next + 800 * after200) / 1000;
Calls(batch == 1 ? 20_000 : 500);
double steady = Calls(batch == 1 ? 1000 : 50);
Console.WriteLine(FormattableString.Invariant(
    $"{Path.GetFileName(args[0])} batch {batch}, path {model.KernelPath}: load {load:F1} ms; first call {first:F0} us; calls 2-200 {next:F1} us; 201-1000 {after200:F1} us; ") +
    FormattableString.Invariant($"mean of the first 1000 {mean1000:F1} us; steady {steady:F1} us; first 1000 / steady {mean1000 / steady:F2}x, calls 2-1000 / steady {(199 * next + 800 * after200) / 999 / steady:F2}x"));
return 0;
