using Qat.MLNet.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// Eager-mode quantization-aware training on TorchSharp module trees (PyTorch: <c>torch.ao.quantization</c>'s
/// <c>fuse_modules_qat</c>, <c>prepare_qat</c>, and the schedule helpers <c>disable_observer</c>,
/// <c>enable_fake_quant</c>, <c>freeze_bn_stats</c>, ...).
/// </summary>
/// <example>
/// <code>
/// var model = nn.Sequential(("quant", new QuantStub()), ("fc1", nn.Linear(784, 256)), ("relu", nn.ReLU()),
///                           ("fc2", nn.Linear(256, 10)), ("dequant", new DeQuantStub()));
/// var fused = Quantizer.FuseModules(model);                      // Linear + ReLU become Intrinsic.LinearReLU
/// var qat = Quantizer.PrepareQat(fused, QConfig.GetDefaultQat(QuantBackend.Fbgemm));
/// // train qat; later: Quantizer.DisableObserver(qat); Quantizer.FreezeBatchNormStats(qat);
/// </code>
/// </example>
public static class Quantizer
{
    /// <summary>
    /// Fuses the given groups of submodules for QAT (PyTorch: <c>fuse_modules_qat(model, groups)</c>): the first module
    /// of each group is replaced by the fused module, the others by <c>Identity</c>.
    /// </summary>
    /// <param name="model">The float model.</param>
    /// <param name="groups">Dotted paths of modules to fuse, e.g. <c>new[] { "conv1", "bn1", "relu1" }</c>.</param>
    /// <param name="inplace">Change <paramref name="model"/> itself (true) or a deep copy (false, the default).</param>
    /// <returns>The fused model (<paramref name="model"/> when <paramref name="inplace"/>).</returns>
    /// <exception cref="ArgumentException">A path names no module, a module is in two groups, or a group is no supported pattern.</exception>
    public static nn.Module<Tensor, Tensor> FuseModules(nn.Module<Tensor, Tensor> model, IEnumerable<string[]> groups, bool inplace = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(groups);
        var groupList = groups.ToList();
        var seen = new HashSet<string>();
        foreach (var group in groupList)
        {
            if (group is null || group.Length < 2 || group.Length > SupportedOperations.MaxFusionLength)
                throw new ArgumentException($"Each fusion group names 2 or 3 modules; got [{string.Join(", ", group ?? Array.Empty<string>())}].", nameof(groups));
            foreach (var path in group)
            {
                if (!seen.Add(path))
                    throw new ArgumentException($"'{path}' appears in more than one fusion group.", nameof(groups));
                ModuleTree.Resolve(model, path);
            }
        }

        var root = inplace ? model : ModuleCloner.Clone(model);

        // Build and check everything first, so that a bad group leaves an in-place model as it was.
        var plan = new List<(string Path, nn.Module<Tensor, Tensor> Replacement)>();
        foreach (var group in groupList)
        {
            var modules = group.Select(path => ModuleTree.Resolve(root, path)).ToList();
            if (!SupportedOperations.Fusions.Any(p => p.Matches(modules)))
                throw new ArgumentException(
                    $"Cannot fuse [{string.Join(", ", group)}] = [{string.Join(", ", modules.Select(m => m.GetType().Name))}]: the supported patterns are {SupportedOperations.FusionPatternsText}. Nothing was changed.",
                    nameof(groups));
            var fused = SupportedOperations.Fusions.First(p => p.Matches(modules)).Fuse(modules);
            fused.train(modules[0].training);
            plan.Add((group[0], fused));
            plan.AddRange(group.Skip(1).Select(path => (path, (nn.Module<Tensor, Tensor>)nn.Identity())));
        }
        foreach (var (path, replacement) in plan)
        {
            var (parent, name) = ModuleTree.ParentOf(root, path);
            ModuleTree.CheckReplaceable(parent, name, replacement.GetType());
        }
        foreach (var (path, replacement) in plan)
            Replace(root, path, replacement);
        return root;
    }

    /// <summary>
    /// Fuses every supported pattern of consecutive children inside each <see cref="Sequential"/> of the model, nested
    /// ones included: Conv2d + BatchNorm2d (+ ReLU), Conv2d + ReLU, Linear + ReLU.
    /// </summary>
    /// <param name="model">The float model.</param>
    /// <param name="inplace">Change <paramref name="model"/> itself (true) or a deep copy (false, the default).</param>
    /// <returns>The fused model.</returns>
    public static nn.Module<Tensor, Tensor> FuseModules(nn.Module<Tensor, Tensor> model, bool inplace = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        var root = inplace ? model : ModuleCloner.Clone(model);
        var groups = new List<string[]>();
        CollectSequentialPatterns(root, "", groups);
        return groups.Count == 0 ? root : FuseModules(root, groups, inplace: true);
    }

    /// <summary>
    /// Prepares a float model for quantization-aware training (PyTorch: <c>prepare_qat</c>): propagates the qconfig down
    /// the tree (a module's own assignment from <see cref="SetQConfig"/> wins; null keeps that subtree float: each weighted
    /// layer in it is wrapped in a <see cref="FloatFallback"/> that fake-quantizes its output, so Convert can run it in
    /// float between int8 layers), swaps every
    /// module whose type is in <paramref name="mapping"/> for its QAT counterpart (sharing nothing with the float model
    /// unless <paramref name="inplace"/>), and attaches an activation fake-quantize after each swapped module and each
    /// <see cref="QuantStub"/>.
    /// </summary>
    /// <param name="model">The float model, in training mode; fuse it first (<see cref="FuseModules(nn.Module{Tensor, Tensor}, bool)"/>).</param>
    /// <param name="qconfig">The configuration for the whole model, or null to use only per-module assignments.</param>
    /// <param name="mapping">Float type to QAT module (default <see cref="QatMappings.Default"/>).</param>
    /// <param name="inplace">Change <paramref name="model"/> itself (true) or a deep copy (false, the default).</param>
    /// <returns>The QAT model.</returns>
    /// <exception cref="InvalidOperationException">The model is in eval mode, or was prepared already.</exception>
    /// <exception cref="NotSupportedException">A module cannot be copied (with inplace false) or swapped (a field of a too specific type).</exception>
    public static nn.Module<Tensor, Tensor> PrepareQat(nn.Module<Tensor, Tensor> model, QConfig? qconfig, QatMappings? mapping = null, bool inplace = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!model.training)
            throw new InvalidOperationException("PrepareQat works on models in training mode: call model.train() first.");
        if (model.modules().Any(m => m is Qat.QatModule))
            throw new InvalidOperationException("The model contains QAT modules already: it was prepared before.");
        mapping ??= QatMappings.Default;

        // Assignments live beside the user's modules; read them by path, so that they also apply to a copy.
        var assigned = new Dictionary<string, QConfig?>();
        if (QConfigAssignments.TryGet(model, out var own))
            assigned[""] = own;
        foreach (var (path, module) in model.named_modules())
        {
            if (QConfigAssignments.TryGet(module, out var assignment))
                assigned[path] = assignment;
        }

        var root = inplace ? model : ModuleCloner.Clone(model);
        var rootQConfig = assigned.TryGetValue("", out var rootAssignment) ? rootAssignment : qconfig;
        if (rootQConfig is not null && mapping.TryGet(root, out var rootEntry))
            return Swap("", root, rootEntry, rootQConfig);
        // Plan and check every swap first (FromFloat only reads the float modules), so that a failure leaves an in-place
        // model as it was; then apply.
        var plan = new List<PlannedChange>();
        // A weighted layer left float gets its output quantized as the rest of the model is (mixed precision).
        var fallbackQConfig = rootQConfig ?? assigned.Values.FirstOrDefault(q => q is not null);
        PlanChildren(root, "", rootQConfig, mapping, assigned, plan, fallbackQConfig);
        foreach (var change in plan)
        {
            if (change.Replacement is not null)
                ModuleTree.Replace(change.Parent, change.Name, change.Replacement);
            else
                change.Observed!.AttachActivationPostProcess(change.QConfig.Activation.Create());
        }
        return root;
    }

    /// <summary>
    /// Converts a trained QAT model into an integer-only <see cref="Inference.QuantizedModel"/> (PyTorch: <c>convert</c>):
    /// int8 weights (BatchNorm folded), int32 biases, uint8 activations, ReLU fused into the requantization clamp. The
    /// model must be a chain of Sequentials from a QuantStub to a DeQuantStub; an unsupported layer is refused here, by
    /// name and type. The QAT model is left unchanged.
    /// </summary>
    /// <remarks>
    /// Mixed precision: a layer that PrepareQat kept float (its qconfig was null: a <see cref="FloatFallback"/>) and every
    /// QAT layer named in <paramref name="keepFloat"/> become float layers of the engine (<see cref="Inference.FloatLinear"/>,
    /// <see cref="Inference.FloatConv2d"/>): they dequantize their input, compute with the float weights (BatchNorm folded)
    /// and quantize their output with the qparams their output FakeQuantize learned, so the layers around them stay int8.
    /// </remarks>
    /// <param name="prepared">The model returned by <see cref="PrepareQat"/>, after training.</param>
    /// <param name="inputShape">Per-sample input shape; needed when the first weighted layer is a convolution.</param>
    /// <param name="keepFloat">Paths of QAT weighted layers to run in float (e.g. <c>fc2</c>, <c>features.0</c>); null or empty for none.</param>
    /// <returns>The integer model.</returns>
    /// <exception cref="ArgumentException">The model is not prepared, the shapes do not chain, or <paramref name="keepFloat"/> names no weighted QAT layer.</exception>
    /// <exception cref="NotSupportedException">A layer or quantization scheme the int8 engine cannot run.</exception>
    public static Inference.QuantizedModel Convert(nn.Module prepared, Inference.ActivationShape? inputShape = null, IReadOnlyCollection<string>? keepFloat = null)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        return Converter.Convert(prepared, inputShape, keepFloat);
    }

    /// <summary>
    /// Assigns a qconfig to one module of a float model before <see cref="PrepareQat"/> (PyTorch: <c>module.qconfig = ...</c>);
    /// <paramref name="qconfig"/> null keeps that module and everything under it in float.
    /// </summary>
    public static void SetQConfig(nn.Module module, QConfig? qconfig)
    {
        ArgumentNullException.ThrowIfNull(module);
        QConfigAssignments.Set(module, qconfig);
    }

    /// <summary>Turns observation off in every FakeQuantize of the tree: scales and zero points freeze (PyTorch: <c>disable_observer</c>).</summary>
    public static void DisableObserver(nn.Module model) => ForEach<FakeQuantizeBase>(model, fq => fq.DisableObserver());

    /// <summary>Turns observation on in every FakeQuantize of the tree (PyTorch: <c>enable_observer</c>).</summary>
    public static void EnableObserver(nn.Module model) => ForEach<FakeQuantizeBase>(model, fq => fq.EnableObserver());

    /// <summary>Turns fake quantization off in every FakeQuantize of the tree (PyTorch: <c>disable_fake_quant</c>).</summary>
    public static void DisableFakeQuant(nn.Module model) => ForEach<FakeQuantizeBase>(model, fq => fq.DisableFakeQuant());

    /// <summary>Turns fake quantization on in every FakeQuantize of the tree (PyTorch: <c>enable_fake_quant</c>).</summary>
    public static void EnableFakeQuant(nn.Module model) => ForEach<FakeQuantizeBase>(model, fq => fq.EnableFakeQuant());

    /// <summary>
    /// Switches every <see cref="LearnableFakeQuantize"/> of the tree to learning its scale and zero point (observers off),
    /// PyTorch's <c>enable_param_learning</c> on each; other fake-quantizes are left as they are.
    /// </summary>
    public static void EnableParamLearning(nn.Module model) => ForEach<LearnableFakeQuantize>(model, fq => fq.EnableParamLearning());

    /// <summary>Freezes the BatchNorm statistics of every QAT ConvBn module (PyTorch: <c>freeze_bn_stats</c>).</summary>
    public static void FreezeBatchNormStats(nn.Module model) => ForEach<Qat.ConvBn2d>(model, m => m.FreezeBatchNormStats());

    /// <summary>Lets every QAT ConvBn module update its BatchNorm statistics again (PyTorch: <c>update_bn_stats</c>).</summary>
    public static void UpdateBatchNormStats(nn.Module model) => ForEach<Qat.ConvBn2d>(model, m => m.UpdateBatchNormStats());

    private static void ForEach<T>(nn.Module model, Action<T> action) where T : nn.Module
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model is T self)
            action(self);
        foreach (var module in model.modules())
        {
            if (module is T match && !ReferenceEquals(module, model))
                action(match);
        }
    }

    /// <summary>
    /// A change PrepareQat will make: a child swapped for its QAT module (or for a <see cref="FloatFallback"/> that keeps it
    /// float), or a QuantStub given its fake-quantize.
    /// </summary>
    private sealed record PlannedChange(nn.Module Parent, string Name, nn.Module<Tensor, Tensor>? Replacement, IHasActivationPostProcess? Observed, QConfig QConfig);

    private static void PlanChildren(nn.Module parent, string prefix, QConfig? inherited, QatMappings mapping,
        Dictionary<string, QConfig?> assigned, List<PlannedChange> plan, QConfig? fallbackQConfig)
    {
        foreach (var (name, child) in parent.named_children().ToList())
        {
            string path = prefix + name;
            var qconfig = assigned.TryGetValue(path, out var own) ? own : inherited;
            if (qconfig is not null && mapping.TryGet(child, out var entry))
            {
                var replacement = Swap(path, child, entry, qconfig);
                ModuleTree.CheckReplaceable(parent, name, replacement.GetType());
                plan.Add(new PlannedChange(parent, name, replacement, null, qconfig));
            }
            else if (child is QuantStub stub)
            {
                if (qconfig is not null)
                    plan.Add(new PlannedChange(parent, name, null, stub, qconfig));
            }
            else if (qconfig is null && fallbackQConfig is not null && child is nn.Module<Tensor, Tensor> floatLayer
                && SupportedOperations.Find(child)?.Role is OperationRole.Weighted or OperationRole.Fused)
            {
                var fallback = new FloatFallback(floatLayer);
                fallback.AttachActivationPostProcess(fallbackQConfig.Activation.Create());
                fallback.train(child.training);
                ModuleTree.CheckReplaceable(parent, name, fallback.GetType());
                plan.Add(new PlannedChange(parent, name, fallback, null, fallbackQConfig));
            }
            else if (child is not DeQuantStub)
            {
                PlanChildren(child, path + ".", qconfig, mapping, assigned, plan, fallbackQConfig);
            }
        }
    }

    private static nn.Module<Tensor, Tensor> Swap(string path, nn.Module child, QatMappings.Entry entry, QConfig qconfig)
    {
        var qat = entry.FromFloat(child, qconfig);
        ConversionAdapters.CheckConvertible(path, child, qat, entry.ConvertAs);
        nn.Module observedModule = qat;
        if (entry.ConvertAs is { } convertAs)
        {
            ConversionAdapters.Attach(qat, convertAs);
            observedModule = ConversionAdapters.StandIn(qat); // its output is the one Convert quantizes
        }
        if (observedModule is IHasActivationPostProcess observed && observed.ActivationPostProcess is null)
            observed.AttachActivationPostProcess(qconfig.Activation.Create());
        qat.train(child.training);
        return qat;
    }

    private static void Replace(nn.Module root, string path, nn.Module<Tensor, Tensor> replacement)
    {
        var (parent, name) = ModuleTree.ParentOf(root, path);
        ModuleTree.Replace(parent, name, replacement);
    }

    private static void CollectSequentialPatterns(nn.Module module, string prefix, List<string[]> groups)
    {
        var children = module.named_children().ToList();
        bool isPlainSequential = module.GetType() == typeof(Sequential);
        int i = 0;
        while (i < children.Count)
        {
            int matched = 0;
            if (isPlainSequential)
            {
                for (int length = Math.Min(SupportedOperations.MaxFusionLength, children.Count - i); length >= 2 && matched == 0; length--)
                {
                    if (SupportedOperations.Fusions.Any(p => p.Matches(children.Skip(i).Take(length).Select(c => c.module).ToList())))
                        matched = length;
                }
            }
            if (matched > 0)
            {
                groups.Add(children.Skip(i).Take(matched).Select(c => prefix + c.name).ToArray());
                i += matched;
            }
            else
            {
                if (!SupportedOperations.IsFused(children[i].module))
                    CollectSequentialPatterns(children[i].module, prefix + children[i].name + ".", groups);
                i++;
            }
        }
    }
}
