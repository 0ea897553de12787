using Qat.MLNet.Examples.Shared;
using Qat.MLNet.Inference;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Inference;

/// <summary>
/// On the whole Fashion-MNIST test set (10,000 images, shipped in examples/data), the int8 model predicts the same class
/// as the fake-quant model it came from on at least 99.9% of the rows. The models train briefly on the first 6,000 test
/// images: agreement, not accuracy, is what is measured.
/// </summary>
[TestClass]
[DoNotParallelize] // seeds TorchSharp's global generator and sets its thread count
public sealed class FashionMnistAgreementTests
{
    private static (Tensor X, Tensor Y) LoadTestSet() => FashionMnist.Load(FashionMnist.ShippedDirectory(), train: false);

    [TestMethod]
    [DataRow("mlp", QuantBackend.Fbgemm)]
    [DataRow("mlp", QuantBackend.Qnnpack)]
    [DataRow("cnn", QuantBackend.Fbgemm)]
    public void Int8Model_WholeTestSet_AgreesWithFakeQuantOnAtLeast999Permille(string kind, QuantBackend backend)
    {
        int previousThreads = get_num_threads();
        set_num_threads(1);
        try
        {
            AgreeOnWholeTestSet(kind, backend);
        }
        finally
        {
            set_num_threads(previousThreads);
        }
    }

    private static void AgreeOnWholeTestSet(string kind, QuantBackend backend)
    {
        manual_seed(11);
        var (x, y) = LoadTestSet();
        using (x)
        using (y)
        {
            var inputs = kind == "cnn" ? x.reshape(-1, 1, 28, 28) : x;
            var model = kind == "cnn" ? Cnn() : Mlp();
            model.train();
            Train(model, inputs, y, 6000, 0.05);                       // float
            var qat = Quantizer.PrepareQat(Quantizer.FuseModules(model, inplace: true), QConfig.GetDefaultQat(backend), inplace: true);
            Train(qat, inputs, y, 6000, 0.01);                         // QAT, observers on
            Quantizer.DisableObserver(qat);
            Quantizer.FreezeBatchNormStats(qat);
            Train(qat, inputs, y, 6000, 0.01);                         // QAT, qparams frozen
            qat.eval();
            var int8 = Quantizer.Convert(qat, kind == "cnn" ? new ActivationShape(1, 28, 28) : null);

            long[] fakeQuantClass;
            using (var scope = NewDisposeScope())
            using (no_grad())
                fakeQuantClass = qat.forward(inputs).argmax(1).data<long>().ToArray();
            var flat = x.data<float>().ToArray();
            var scores = int8.Predict(flat, (int)x.shape[0]);
            int agree = 0;
            for (int n = 0; n < fakeQuantClass.Length; n++)
            {
                int best = 0;
                for (int c = 1; c < 10; c++)
                    best = scores[n * 10 + c] > scores[n * 10 + best] ? c : best;
                agree += best == fakeQuantClass[n] ? 1 : 0;
            }
            double rate = agree / (double)fakeQuantClass.Length;
            Console.WriteLine($"{kind} {backend}: int8 and fake-quant agree on {agree} of {fakeQuantClass.Length} rows ({rate:P2})");
            Assert.IsGreaterThanOrEqualTo(0.999, rate);
            qat.Dispose();
        }
    }

    private static Sequential Mlp() => nn.Sequential(("quant", new QuantStub()), ("fc1", nn.Linear(784, 128)), ("r1", nn.ReLU()),
        ("fc2", nn.Linear(128, 10)), ("dequant", new DeQuantStub()));

    private static Sequential Cnn() => nn.Sequential(("quant", new QuantStub()),
        ("c1", nn.Conv2d(1, 8, 3, padding: 1)), ("b1", nn.BatchNorm2d(8)), ("r1", nn.ReLU()), ("p1", nn.MaxPool2d(2)),
        ("c2", nn.Conv2d(8, 16, 3, padding: 1)), ("b2", nn.BatchNorm2d(16)), ("r2", nn.ReLU()), ("p2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()), ("fc", nn.Linear(16 * 7 * 7, 10)), ("dequant", new DeQuantStub()));

    private static void Train(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, int count, double lr)
    {
        model.train();
        using var optimizer = optim.SGD(model.parameters(), lr, momentum: 0.9);
        using var loss = nn.CrossEntropyLoss();
        for (int i = 0; i < count; i += 64)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            loss.forward(model.forward(x.slice(0, i, Math.Min(i + 64, count), 1)), y.slice(0, i, Math.Min(i + 64, count), 1)).backward();
            optimizer.step();
        }
    }
}
