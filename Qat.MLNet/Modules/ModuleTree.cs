using System.Collections;
using System.Reflection;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// Finds and replaces submodules of a TorchSharp module tree (PyTorch: <c>getattr</c>/<c>setattr</c> on modules).
/// TorchSharp has no public way to replace a child, so this reaches into Sequential's list and a custom module's
/// submodule dictionary and fields; if TorchSharp's internals change, it fails with a message instead of guessing.
/// </summary>
internal static class ModuleTree
{
    private const BindingFlags InstanceFields = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    /// <summary>The submodule at a dotted path such as <c>features.0</c>.</summary>
    /// <exception cref="ArgumentException">No such submodule; the message lists the children there are.</exception>
    public static nn.Module Resolve(nn.Module root, string path)
    {
        var current = root;
        foreach (var part in path.Split('.'))
        {
            var children = current.named_children().ToList();
            var match = children.FirstOrDefault(c => c.name == part);
            if (match.module is null)
                throw new ArgumentException(
                    $"'{path}' names no submodule: '{part}' is not a child of {current.GetType().Name} (its children: {string.Join(", ", children.Select(c => c.name))}).",
                    nameof(path));
            current = match.module;
        }
        return current;
    }

    /// <summary>Splits a dotted path into its parent module and the child's name.</summary>
    public static (nn.Module Parent, string Name) ParentOf(nn.Module root, string path)
    {
        int dot = path.LastIndexOf('.');
        return dot < 0 ? (root, path) : (Resolve(root, path[..dot]), path[(dot + 1)..]);
    }

    /// <summary>
    /// Checks, without changing anything, that the child <paramref name="name"/> of <paramref name="parent"/> can be
    /// replaced by a module of type <paramref name="replacementType"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No such child.</exception>
    /// <exception cref="NotSupportedException">A field holding the child cannot hold the replacement's type.</exception>
    public static void CheckReplaceable(nn.Module parent, string name, Type replacementType)
    {
        var old = Resolve(parent, name);
        if (parent is Sequential)
            return;
        foreach (var (type, field) in FieldsHolding(parent, old))
        {
            if (!field.FieldType.IsAssignableFrom(replacementType))
                throw new NotSupportedException(
                    $"Field '{field.Name}' of {type.Name} is declared as {field.FieldType.Name} and cannot hold the {replacementType.FullName} that replaces it: " +
                    "declare it as Module<Tensor, Tensor> so that fusion and PrepareQat can swap it. Nothing was changed.");
        }
    }

    /// <summary>Replaces the child <paramref name="name"/> of <paramref name="parent"/> with <paramref name="replacement"/>.</summary>
    /// <exception cref="ArgumentException">No such child.</exception>
    /// <exception cref="NotSupportedException">A field holding the child cannot hold the replacement's type (checked before any change).</exception>
    public static void Replace(nn.Module parent, string name, nn.Module<Tensor, Tensor> replacement)
    {
        CheckReplaceable(parent, name, replacement.GetType());
        var old = Resolve(parent, name);
        if (parent is Sequential sequential)
        {
            ReplaceInSequential(sequential, name, replacement);
            return;
        }

        // A custom module: its registered submodules, then every field that holds the old child.
        var submodules = FindField(parent.GetType(), "_internal_submodules")?.GetValue(parent)
            ?? throw new InvalidOperationException($"Cannot rewrite {parent.GetType().Name}: TorchSharp's Module has no _internal_submodules field in this version.");
        var fields = FieldsHolding(parent, old).ToList();
        submodules.GetType().GetMethod("set_Item", new[] { typeof(string), typeof(nn.Module) })!.Invoke(submodules, new object[] { name, replacement });
        foreach (var (_, field) in fields)
            field.SetValue(parent, replacement);
    }

    private static IEnumerable<(Type Type, FieldInfo Field)> FieldsHolding(nn.Module parent, nn.Module child)
    {
        for (var type = parent.GetType(); type != null && type != typeof(nn.Module); type = type.BaseType)
        {
            foreach (var field in type.GetFields(InstanceFields))
            {
                if (ReferenceEquals(field.GetValue(parent), child))
                    yield return (type, field);
            }
        }
    }

    private static void ReplaceInSequential(Sequential sequential, string name, nn.Module<Tensor, Tensor> replacement)
    {
        var modules = typeof(Sequential).GetField("_modules", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(sequential) as IList;
        var names = typeof(Sequential).GetField("_names", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(sequential) as IList<string>;
        if (modules is null || names is null)
            throw new InvalidOperationException("Cannot rewrite a Sequential: TorchSharp's Sequential no longer keeps _modules/_names lists in this version.");
        int index = names.IndexOf(name);
        if (index < 0)
            throw new ArgumentException($"Sequential has no child '{name}'.", nameof(name));
        modules[index] = replacement;
    }

    private static FieldInfo? FindField(Type type, string name)
    {
        for (var t = type; t != null; t = t.BaseType)
        {
            var field = t.GetField(name, InstanceFields);
            if (field != null)
                return field;
        }
        return null;
    }
}
