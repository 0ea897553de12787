using System.Runtime.CompilerServices;
using Qat.MLNet.Quantization;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// Per-module qconfig assignments (PyTorch sets the attribute <c>module.qconfig</c>; TorchSharp modules have no
/// dynamic attributes, so the assignment is kept beside the module, for as long as the module lives).
/// </summary>
internal static class QConfigAssignments
{
    private sealed class Slot
    {
        public Slot(QConfig? value) => Value = value;

        public QConfig? Value { get; }
    }

    private static readonly ConditionalWeakTable<nn.Module, Slot> Table = new();

    /// <summary>Assigns <paramref name="qconfig"/> (null: keep this subtree float).</summary>
    public static void Set(nn.Module module, QConfig? qconfig) => Table.AddOrUpdate(module, new Slot(qconfig));

    /// <summary>Removes an assignment, so the module inherits its parent's qconfig again.</summary>
    public static void Clear(nn.Module module) => Table.Remove(module);

    /// <summary>Whether the module has an assignment, and which.</summary>
    public static bool TryGet(nn.Module module, out QConfig? qconfig)
    {
        bool found = Table.TryGetValue(module, out var slot);
        qconfig = slot?.Value;
        return found;
    }
}
