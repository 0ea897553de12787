using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// The <c>convertAs</c> functions of user mappings (<see cref="QatMappings.Add{TFloat}(Func{nn.Module, Quantization.QConfig, nn.Module{Tensor, Tensor}}, Func{nn.Module, Qat.QatModule})"/>),
/// kept beside the QAT modules PrepareQat made with them, so that Convert finds the built-in QAT module that stands for
/// each. Weak: nothing here keeps a model alive.
/// </summary>
internal static class ConversionAdapters
{
    private static readonly ConditionalWeakTable<nn.Module, Func<nn.Module, Qat.QatModule>> Table = new();

    /// <summary>Remembers <paramref name="convertAs"/> for <paramref name="qatModule"/>.</summary>
    public static void Attach(nn.Module qatModule, Func<nn.Module, Qat.QatModule> convertAs) => Table.AddOrUpdate(qatModule, convertAs);

    /// <summary>Whether <paramref name="module"/> was made by a mapping with a <c>convertAs</c>.</summary>
    public static bool Has(nn.Module module) => Table.TryGetValue(module, out _);

    /// <summary>The module Convert converts in place of <paramref name="module"/>: its stand-in, or itself.</summary>
    /// <exception cref="InvalidOperationException">The <c>convertAs</c> function returned null.</exception>
    public static nn.Module StandIn(nn.Module module) =>
        Table.TryGetValue(module, out var convertAs)
            ? convertAs(module) ?? throw new InvalidOperationException($"The convertAs function of the mapping that made a {module.GetType().Name} returned null.")
            : module;

    /// <summary>
    /// Refuses, at PrepareQat, a mapping whose QAT module Convert could not convert: neither a built-in QAT type (or a
    /// subclass) nor given a <c>convertAs</c>.
    /// </summary>
    /// <exception cref="NotSupportedException">The replacement has no converter.</exception>
    public static void CheckConvertible(string path, nn.Module floatModule, nn.Module replacement, Func<nn.Module, Qat.QatModule>? convertAs)
    {
        if (convertAs is not null || SupportedOperations.FindConversion(replacement.GetType()) is not null)
            return;
        throw new NotSupportedException(
            $"The QAT mapping turns '{(path.Length == 0 ? "(root)" : path)}' ({floatModule.GetType().Name}) into a {replacement.GetType().FullName}, which Convert has no converter for " +
            $"(it converts {string.Join(", ", SupportedOperations.QatConversions.Select(c => "Qat." + c.QatType.Name))} and their subclasses). " +
            "Map the type to one of those, or register a converter: QatMappings.Add<TFloat>(fromFloat, convertAs) with convertAs returning the Qat module that stands for it at Convert time. Nothing was changed.");
    }
}
