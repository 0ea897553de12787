using System.Text.Json;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using Qat.MLNet.Tests.Golden;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Intrinsic = Qat.MLNet.Modules.Intrinsic;
using QatModules = Qat.MLNet.Modules.Qat;

namespace Qat.MLNet.Tests.Modules;

/// <summary>The float models of gen_golden.py (QuantStub -> body -> DeQuantStub), with PyTorch's parameters.</summary>
internal static class GoldenModels
{
    /// <summary>The float body of one golden case: a Sequential named as in PyTorch ("0", "1", "2").</summary>
    public static Sequential BuildFloatBody(string kind, JsonElement floatParams)
    {
        Tensor P(string key) => GoldenData.ToTensor(floatParams.GetProperty(key));
        TorchSharp.Modules.Linear Linear()
        {
            var l = nn.Linear(12, 7);
            using (no_grad()) { l.weight!.copy_(P("0.weight")); l.bias!.copy_(P("0.bias")); }
            return l;
        }
        TorchSharp.Modules.Conv2d Conv(long stride, bool bias)
        {
            var conv = nn.Conv2d(3, 4, 3, stride: stride, padding: 1, bias: bias);
            using (no_grad())
            {
                conv.weight!.copy_(P("0.weight"));
                if (bias)
                    conv.bias!.copy_(P("0.bias"));
            }
            return conv;
        }
        BatchNorm2d Bn()
        {
            var bn = nn.BatchNorm2d(4);
            using (no_grad())
            {
                bn.weight!.copy_(P("1.weight"));
                bn.bias!.copy_(P("1.bias"));
                bn.running_mean!.copy_(P("1.running_mean"));
                bn.running_var!.copy_(P("1.running_var"));
            }
            return bn;
        }
        return kind switch
        {
            "Linear" => nn.Sequential(("0", Linear())),
            "LinearReLU" => nn.Sequential(("0", Linear()), ("1", nn.ReLU())),
            "Conv2d" => nn.Sequential(("0", Conv(1, true))),
            "ConvReLU2d" => nn.Sequential(("0", Conv(1, true)), ("1", nn.ReLU())),
            "ConvBn2d" => nn.Sequential(("0", Conv(1, false)), ("1", Bn())),
            "ConvBnReLU2d" => nn.Sequential(("0", Conv(2, false)), ("1", Bn()), ("2", nn.ReLU())),
            _ => throw new AssertFailedException("unknown golden module " + kind),
        };
    }

    /// <summary>
    /// The model after fuse_modules_qat + prepare_qat, built by hand from the QAT modules: the fused module at "0",
    /// Identity in the places of the modules fused into it, FakeQuantize after the QuantStub and the QAT module.
    /// </summary>
    public static nn.Module<Tensor, Tensor> BuildPrepared(string kind, JsonElement floatParams, QConfig qconfig)
    {
        var body = BuildFloatBody(kind, floatParams);
        var children = body.named_children().Select(c => c.module).ToArray();
        QatModules.QatModule qat = kind switch
        {
            "Linear" => QatModules.Linear.FromFloat(children[0], qconfig),
            "LinearReLU" => QatModules.LinearReLU.FromFloat(new Intrinsic.LinearReLU((TorchSharp.Modules.Linear)children[0], (ReLU)children[1]), qconfig),
            "Conv2d" => QatModules.Conv2d.FromFloat(children[0], qconfig),
            "ConvReLU2d" => QatModules.ConvReLU2d.FromFloat(new Intrinsic.ConvReLU2d((TorchSharp.Modules.Conv2d)children[0], (ReLU)children[1]), qconfig),
            "ConvBn2d" => QatModules.ConvBn2d.FromFloat(new Intrinsic.ConvBn2d((TorchSharp.Modules.Conv2d)children[0], (BatchNorm2d)children[1]), qconfig),
            "ConvBnReLU2d" => QatModules.ConvBnReLU2d.FromFloat(new Intrinsic.ConvBnReLU2d((TorchSharp.Modules.Conv2d)children[0], (BatchNorm2d)children[1], (ReLU)children[2]), qconfig),
            _ => throw new AssertFailedException("unknown golden module " + kind),
        };
        qat.AttachActivationPostProcess(qconfig.Activation.Create());
        var preparedBody = new List<(string, nn.Module<Tensor, Tensor>)> { ("0", qat) };
        for (int i = 1; i < children.Length; i++)
            preparedBody.Add((i.ToString(), nn.Identity()));
        var quant = new QuantStub();
        quant.AttachActivationPostProcess(qconfig.Activation.Create());
        var model = nn.Sequential(("quant", quant), ("body", nn.Sequential(preparedBody)), ("dequant", new DeQuantStub()));
        model.train();
        return model;
    }

    /// <summary>The model as gen_golden.py makes it: fuse_modules_qat on the body, then prepare_qat, here through Quantizer.</summary>
    public static nn.Module<Tensor, Tensor> PrepareWithQuantizer(string kind, JsonElement floatParams, QConfig qconfig)
    {
        var body = BuildFloatBody(kind, floatParams);
        nn.Module<Tensor, Tensor> model = nn.Sequential(("quant", new QuantStub()), ("body", body), ("dequant", new DeQuantStub()));
        model.train();
        int count = body.named_children().Count();
        if (count > 1)
            model = Quantizer.FuseModules(model, new[] { Enumerable.Range(0, count).Select(i => $"body.{i}").ToArray() }, inplace: true);
        return Quantizer.PrepareQat(model, qconfig, inplace: true);
    }

    /// <summary>
    /// PyTorch's trained state (state_after_training: weights, BatchNorm statistics, fake-quant scales, observer min/max)
    /// loaded into the model prepared by Quantizer, with gen_golden.py's final schedule (observers off, BatchNorm frozen)
    /// and eval mode: the exact model PyTorch converted.
    /// </summary>
    public static void LoadTrainedState(nn.Module<Tensor, Tensor> model, JsonElement c)
    {
        var state = new Dictionary<string, Tensor>();
        foreach (var entry in c.GetProperty("state_after_training").EnumerateObject())
            state[entry.Name] = GoldenData.ToTensor(entry.Value);
        var (_, unexpected) = QuantizationState.LoadStateDict(model, state, strict: false);
        Assert.IsEmpty(unexpected, "PyTorch's state has keys this model lacks: " + string.Join(", ", unexpected));
        Quantizer.DisableObserver(model);
        Quantizer.FreezeBatchNormStats(model);
        model.eval();
    }
}
