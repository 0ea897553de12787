using System.Diagnostics;
using System.Globalization;
using Qat.MLNet.Examples.Shared;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// One training epoch on Fashion-MNIST, float then QAT, with the MLP and CNN of ../shared/tools/torch_qat_fmnist.py
/// (same layers, batch size 64, SGD momentum 0.9, lr 0.05 float / 0.01 QAT): <c>dotnet run -c Release -- train --model mlp|cnn</c>.
/// Prints one JSON line like the PyTorch script, so the two can be compared on the same machine.
/// </summary>
public static class TrainingBenchmark
{
    /// <summary>Runs the benchmark: <c>train [--model mlp|cnn] [--backend fbgemm|qnnpack] [--threads N] [--train-n N] [--float-epochs N] [--qat-epochs N]</c>.</summary>
    public static void Run(string[] args)
    {
        string Arg(string name, string fallback) => args.SkipWhile(a => a != "--" + name).Skip(1).FirstOrDefault() ?? fallback;
        string model = Arg("model", "mlp");
        var backend = Arg("backend", "fbgemm") == "qnnpack" ? QuantBackend.Qnnpack : QuantBackend.Fbgemm;
        int threads = int.Parse(Arg("threads", "1"), CultureInfo.InvariantCulture);
        int trainN = int.Parse(Arg("train-n", "60000"), CultureInfo.InvariantCulture);
        int floatEpochs = int.Parse(Arg("float-epochs", "1"), CultureInfo.InvariantCulture);
        int qatEpochs = int.Parse(Arg("qat-epochs", "1"), CultureInfo.InvariantCulture);
        const int batchSize = 64;

        set_num_threads(threads);
        manual_seed(0);
        var (xTrain, yTrain) = FashionMnist.Load(Arg("data", FashionMnist.DefaultDirectory), train: true, limit: trainN);
        var (xTest, yTest) = FashionMnist.Load(Arg("data", FashionMnist.DefaultDirectory), train: false);
        if (model == "cnn")
        {
            xTrain = xTrain.reshape(-1, 1, 28, 28);
            xTest = xTest.reshape(-1, 1, 28, 28);
        }

        nn.Module<Tensor, Tensor> net = model == "cnn" ? BenchmarkModels.Cnn() : BenchmarkModels.Mlp();
        var floatTimes = new List<double>();
        using (var optimizer = optim.SGD(net.parameters(), 0.05, momentum: 0.9))
        {
            for (int e = 0; e < floatEpochs; e++)
                floatTimes.Add(Epoch(net, xTrain, yTrain, optimizer, batchSize));
        }
        double floatAccuracy = Accuracy(net, xTest, yTest);

        net.train();
        var qat = Quantizer.PrepareQat(Quantizer.FuseModules(net, inplace: true), QConfig.GetDefaultQat(backend), inplace: true);
        var qatTimes = new List<double>();
        using (var optimizer = optim.SGD(qat.parameters(), 0.01, momentum: 0.9))
        {
            for (int e = 0; e < qatEpochs; e++)
            {
                if (e == qatEpochs - 1 && e > 0)
                {
                    Quantizer.DisableObserver(qat);
                    Quantizer.FreezeBatchNormStats(qat);
                }
                qatTimes.Add(Epoch(qat, xTrain, yTrain, optimizer, batchSize));
            }
        }
        double fakeQuantAccuracy = Accuracy(qat, xTest, yTest);

        string Times(List<double> t) => "[" + string.Join(", ", t.Select(v => v.ToString("F3", CultureInfo.InvariantCulture))) + "]";
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        Console.WriteLine(
            $"{{\"torchsharp\": \"{typeof(torch).Assembly.GetName().Version}\", \"model\": \"{model}\", \"backend\": \"{backend}\", \"threads\": {threads}, " +
            $"\"train_n\": {xTrain.shape[0]}, \"allocator\": \"{Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "glibc"}\", " +
            $"\"float_epoch_s\": {Times(floatTimes)}, \"qat_epoch_s\": {Times(qatTimes)}, \"float_acc\": {floatAccuracy:F4}, \"fakequant_acc\": {fakeQuantAccuracy:F4}}}");
    }

    private static double Epoch(nn.Module<Tensor, Tensor> net, Tensor x, Tensor y, optim.Optimizer optimizer, int batchSize)
    {
        net.train();
        using var loss = nn.CrossEntropyLoss();
        using var permutation = randperm(x.shape[0]);
        long n = x.shape[0];
        var watch = Stopwatch.StartNew();
        for (long i = 0; i < n; i += batchSize)
        {
            using var scope = NewDisposeScope();
            var index = permutation.slice(0, i, Math.Min(i + batchSize, n), 1);
            optimizer.zero_grad();
            var output = loss.forward(net.forward(x.index_select(0, index)), y.index_select(0, index));
            output.backward();
            optimizer.step();
        }
        return watch.Elapsed.TotalSeconds;
    }

    private static double Accuracy(nn.Module<Tensor, Tensor> net, Tensor x, Tensor y)
    {
        net.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return net.forward(x).argmax(1).eq(y).to(ScalarType.Float32).mean().item<float>();
    }
}
