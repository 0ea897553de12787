using System.Runtime.CompilerServices;

// ML.NET persistence (ModelSaveContext, ModelLoadContext, LoadableClass) and the catalogs' environment are
// internal to these two assemblies; the library compiles against publicized copies (build/Qat.MLNet.Publicize.targets).
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Data")]
