using System.Globalization;
using System.Reflection;
using Qat.MLNet.Trainers;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// Probe settings for the benchmark commands: <c>"WeightDecay=0.01;BatchSize=16;Network=32,16"</c> applied to a trainer's
/// Options by property name (numbers, booleans, enums, nullable numbers; <c>Network</c> takes MLP hidden widths;
/// <c>Dropout=p</c> puts a Dropout(p) after each hidden ReLU of that MLP, default widths 128,64).
/// </summary>
internal static class OptionAssignments
{
    /// <summary>Applies <paramref name="assignments"/> to <paramref name="options"/>; an unknown name or bad value throws.</summary>
    public static TOptions Apply<TOptions>(TOptions options, string assignments) where TOptions : QatTrainerOptions
    {
        int[] widths = QatDefaults.MlpHiddenSizes;
        double dropout = 0;
        foreach (string pair in assignments.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0)
                throw new ArgumentException($"'{pair}' is not Name=Value: write e.g. --with \"WeightDecay=0.01;BatchSize=16\".");
            string name = pair[..eq].Trim(), value = pair[(eq + 1)..].Trim();
            if (name == nameof(QatTrainerOptions.Network))
            {
                widths = value.Length == 0 ? [] : value.Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray();
                options.Network = QatNetwork.Mlp(widths);
                continue;
            }
            if (name == "Dropout")
            {
                dropout = double.Parse(value, CultureInfo.InvariantCulture);
                continue;
            }
            // The runtime type: a task's own options (PositiveClassWeight) also when handed over as the base class.
            var property = options.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance)
                ?? throw new ArgumentException($"{options.GetType().Name} has no property '{name}'.");
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            object? parsed = value == "null" ? null
                : type.IsEnum ? Enum.Parse(type, value, ignoreCase: true)
                : Convert.ChangeType(value, type, CultureInfo.InvariantCulture);
            property.SetValue(options, parsed);
        }
        if (dropout > 0)
            options.Network = MlpWithDropout(widths, dropout);
        return options;
    }

    private static QatNetwork MlpWithDropout(int[] widths, double p) => QatNetwork.Custom((inputs, outputs) =>
    {
        var layers = new List<(string, TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>)>();
        int width = inputs;
        for (int i = 0; i < widths.Length; i++)
        {
            layers.Add(($"fc{i + 1}", TorchSharp.torch.nn.Linear(width, widths[i])));
            layers.Add(($"relu{i + 1}", TorchSharp.torch.nn.ReLU()));
            layers.Add(($"drop{i + 1}", TorchSharp.torch.nn.Dropout(p)));
            width = widths[i];
        }
        layers.Add(($"fc{widths.Length + 1}", TorchSharp.torch.nn.Linear(width, outputs)));
        return TorchSharp.torch.nn.Sequential(layers);
    }, description: FormattableString.Invariant($"MLP in-{string.Join("-", widths)}-out, dropout {p}"));
}
