using Qat.MLNet.Examples;

// Qat.MLNet examples. No argument runs the main one.
//   (none) | fashion [model.zip]  ML.NET pipeline: CNN on Fashion-MNIST with QAT, float vs int8 accuracy/size/latency, save
//   tabular [model.zip]           ML.NET pipeline: CSV -> normalize -> MLP with QAT (binary classification)
//   core                          the quantization core alone: fake quantization, observers, PrepareQat by hand
//   experiment                    a QAT experiment (AutoML-style search) on wine and on the Fashion-MNIST slice
string command = args.Length > 0 ? args[0] : "fashion";
string Output(string fallback) => args.Length > 1 ? args[1] : fallback;
switch (command)
{
    case "fashion":
        FashionMnistExample.Run(Output("fashion-mnist-qat.zip"));
        break;
    case "tabular":
        TabularExample.Run(Output("breast-cancer-qat.zip"));
        break;
    case "core":
        CoreApiExample.Run();
        break;
    case "experiment":
        ExperimentExample.Run();
        break;
    default:
        Console.Error.WriteLine($"Unknown command '{command}'. Use one of: fashion [model.zip], tabular [model.zip], core, experiment.");
        return 2;
}
return 0;
