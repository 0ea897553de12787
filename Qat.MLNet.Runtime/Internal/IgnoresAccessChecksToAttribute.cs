namespace System.Runtime.CompilerServices;

/// <summary>
/// Tells the runtime to skip visibility checks when this assembly calls into the named assembly.
/// The runtime recognises the attribute by name; the framework does not ship it, so each user declares it.
/// Qat.MLNet uses it for ML.NET's persistence and catalog internals (see build/Qat.MLNet.Publicize.targets).
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute : Attribute
{
    /// <summary>Creates the attribute for <paramref name="assemblyName"/> (simple name, no version).</summary>
    public IgnoresAccessChecksToAttribute(string assemblyName) => AssemblyName = assemblyName;

    /// <summary>The simple name of the assembly whose internals are used.</summary>
    public string AssemblyName { get; }
}
