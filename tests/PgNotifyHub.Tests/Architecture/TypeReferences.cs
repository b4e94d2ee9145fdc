using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace PgNotifyHub.Tests.Architecture;

/// <summary>
/// Which of an assembly's own types each of its types uses, read from the compiled assembly: base types and interfaces,
/// the signatures of fields, properties and methods, and every type, method and field that method bodies name,
/// generic arguments included. Compiler-made types (lambdas' closures, async state machines) count for the type they
/// were made for, so what a type's code uses is found however it is written.
/// </summary>
internal static class TypeReferences
{
    /// <summary>
    /// Maps each top-level type, by full name, to the full names of the other top-level types it uses, of its own
    /// assembly and of the <paramref name="relatedAssemblies"/> (by simple name).
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlySet<string>> Of(string assemblyPath, params string[] relatedAssemblies)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var provider = new OwnTypes(metadata, relatedAssemblies);
        var uses = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);

        foreach (var handle in metadata.TypeDefinitions)
        {
            var owner = provider.TopLevelName(handle);
            if (owner.Length == 0)
            {
                continue;
            }

            var used = uses.TryGetValue(owner, out var existing) ? existing : uses[owner] = new HashSet<string>(StringComparer.Ordinal);
            var type = metadata.GetTypeDefinition(handle);
            provider.AddTypeHandle(used, type.BaseType);
            foreach (var implementation in type.GetInterfaceImplementations())
            {
                provider.AddTypeHandle(used, metadata.GetInterfaceImplementation(implementation).Interface);
            }

            foreach (var field in type.GetFields())
            {
                used.UnionWith(metadata.GetFieldDefinition(field).DecodeSignature(provider, null));
            }

            foreach (var property in type.GetProperties())
            {
                OwnTypes.Add(used, metadata.GetPropertyDefinition(property).DecodeSignature(provider, null));
            }

            foreach (var methodHandle in type.GetMethods())
            {
                var method = metadata.GetMethodDefinition(methodHandle);
                OwnTypes.Add(used, method.DecodeSignature(provider, null));
                if (method.RelativeVirtualAddress != 0)
                {
                    AddBody(used, provider, pe.GetMethodBody(method.RelativeVirtualAddress));
                }
            }
        }

        foreach (var (owner, used) in uses)
        {
            used.Remove(owner);
        }

        return uses.ToDictionary(pair => pair.Key, pair => (IReadOnlySet<string>)pair.Value, StringComparer.Ordinal);
    }

    private static void AddBody(HashSet<string> used, OwnTypes provider, MethodBodyBlock body)
    {
        if (!body.LocalSignature.IsNil)
        {
            var locals = provider.Metadata.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(provider, null);
            foreach (var local in locals)
            {
                used.UnionWith(local);
            }
        }

        var il = body.GetILReader();
        while (il.RemainingBytes > 0)
        {
            var opCode = ReadOpCode(ref il);
            switch (OperandSize(opCode))
            {
                case OperandKind.Token:
                    provider.AddToken(used, il.ReadInt32());
                    break;
                case OperandKind.Switch:
                    // Read before the offset is: "il.Offset += 4 * il.ReadInt32()" would add to the offset before the count.
                    var targets = il.ReadInt32();
                    il.Offset += 4 * targets;
                    break;
                case var other:
                    il.Offset += (int)other;
                    break;
            }
        }
    }

    private static ILOpCode ReadOpCode(ref BlobReader il)
    {
        var first = il.ReadByte();
        return first == 0xFE ? (ILOpCode)(0xFE00 | il.ReadByte()) : (ILOpCode)first;
    }

    // The size of each instruction's operand, per ECMA-335 III; tokens are read, the rest skipped.
    private static OperandKind OperandSize(ILOpCode opCode) => opCode switch
    {
        ILOpCode.Call or ILOpCode.Callvirt or ILOpCode.Newobj or ILOpCode.Ldftn or ILOpCode.Ldvirtftn or ILOpCode.Jmp
            or ILOpCode.Ldfld or ILOpCode.Ldflda or ILOpCode.Stfld or ILOpCode.Ldsfld or ILOpCode.Ldsflda or ILOpCode.Stsfld
            or ILOpCode.Box or ILOpCode.Unbox or ILOpCode.Unbox_any or ILOpCode.Castclass or ILOpCode.Isinst or ILOpCode.Newarr
            or ILOpCode.Ldelema or ILOpCode.Ldelem or ILOpCode.Stelem or ILOpCode.Ldobj or ILOpCode.Stobj or ILOpCode.Cpobj
            or ILOpCode.Initobj or ILOpCode.Sizeof or ILOpCode.Mkrefany or ILOpCode.Refanyval or ILOpCode.Constrained
            or ILOpCode.Ldtoken or ILOpCode.Calli => OperandKind.Token,
        ILOpCode.Switch => OperandKind.Switch,
        ILOpCode.Br_s or ILOpCode.Brfalse_s or ILOpCode.Brtrue_s or ILOpCode.Beq_s or ILOpCode.Bge_s or ILOpCode.Bgt_s
            or ILOpCode.Ble_s or ILOpCode.Blt_s or ILOpCode.Bne_un_s or ILOpCode.Bge_un_s or ILOpCode.Bgt_un_s
            or ILOpCode.Ble_un_s or ILOpCode.Blt_un_s or ILOpCode.Leave_s or ILOpCode.Ldc_i4_s or ILOpCode.Ldarg_s
            or ILOpCode.Ldarga_s or ILOpCode.Starg_s or ILOpCode.Ldloc_s or ILOpCode.Ldloca_s or ILOpCode.Stloc_s
            or ILOpCode.Unaligned => OperandKind.One,
        ILOpCode.Ldarg or ILOpCode.Ldarga or ILOpCode.Starg or ILOpCode.Ldloc or ILOpCode.Ldloca or ILOpCode.Stloc => OperandKind.Two,
        ILOpCode.Br or ILOpCode.Brfalse or ILOpCode.Brtrue or ILOpCode.Beq or ILOpCode.Bge or ILOpCode.Bgt or ILOpCode.Ble
            or ILOpCode.Blt or ILOpCode.Bne_un or ILOpCode.Bge_un or ILOpCode.Bgt_un or ILOpCode.Ble_un or ILOpCode.Blt_un
            or ILOpCode.Leave or ILOpCode.Ldc_i4 or ILOpCode.Ldc_r4 or ILOpCode.Ldstr => OperandKind.Four,
        ILOpCode.Ldc_i8 or ILOpCode.Ldc_r8 => OperandKind.Eight,
        _ => OperandKind.None,
    };

    private enum OperandKind
    {
        None = 0,
        One = 1,
        Two = 2,
        Four = 4,
        Eight = 8,
        Token = -1,
        Switch = -2,
    }

    /// <summary>
    /// Decodes signatures into the set of top-level types they name, of the assembly and its related ones; other
    /// assemblies' types are ignored.
    /// </summary>
    private sealed class OwnTypes(MetadataReader metadata, string[] relatedAssemblies) : ISignatureTypeProvider<ImmutableHashSet<string>, object?>
    {
        private static readonly ImmutableHashSet<string> None = ImmutableHashSet.Create<string>(StringComparer.Ordinal);

        public MetadataReader Metadata { get; } = metadata;

        /// <summary>The full name of the top-level type that <paramref name="handle"/> is, or is nested in; empty for the module's own.</summary>
        public string TopLevelName(TypeDefinitionHandle handle)
        {
            var type = Metadata.GetTypeDefinition(handle);
            while (type.IsNested)
            {
                type = Metadata.GetTypeDefinition(type.GetDeclaringType());
            }

            var name = Metadata.GetString(type.Name);
            if (name == "<Module>")
            {
                return "";
            }

            var space = Metadata.GetString(type.Namespace);
            return space.Length == 0 ? name : space + "." + name;
        }

        public void AddTypeHandle(HashSet<string> used, EntityHandle handle)
        {
            if (handle.IsNil)
            {
                return;
            }

            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition:
                    used.Add(TopLevelName((TypeDefinitionHandle)handle));
                    break;
                case HandleKind.TypeReference:
                    used.UnionWith(GetTypeFromReference(Metadata, (TypeReferenceHandle)handle, 0));
                    break;
                case HandleKind.TypeSpecification:
                    used.UnionWith(Metadata.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(this, null));
                    break;
            }
        }

        public void AddToken(HashSet<string> used, int token)
        {
            var handle = MetadataTokens.EntityHandle(token);
            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition or HandleKind.TypeReference or HandleKind.TypeSpecification:
                    AddTypeHandle(used, handle);
                    break;
                case HandleKind.MethodDefinition:
                    var method = Metadata.GetMethodDefinition((MethodDefinitionHandle)handle);
                    used.Add(TopLevelName(method.GetDeclaringType()));
                    break;
                case HandleKind.FieldDefinition:
                    used.Add(TopLevelName(Metadata.GetFieldDefinition((FieldDefinitionHandle)handle).GetDeclaringType()));
                    break;
                case HandleKind.MemberReference:
                    var member = Metadata.GetMemberReference((MemberReferenceHandle)handle);
                    AddTypeHandle(used, member.Parent);
                    if (member.GetKind() == MemberReferenceKind.Method)
                    {
                        Add(used, member.DecodeMethodSignature(this, null));
                    }
                    else
                    {
                        used.UnionWith(member.DecodeFieldSignature(this, null));
                    }

                    break;
                case HandleKind.MethodSpecification:
                    var specification = Metadata.GetMethodSpecification((MethodSpecificationHandle)handle);
                    AddToken(used, MetadataTokens.GetToken(specification.Method));
                    foreach (var argument in specification.DecodeSignature(this, null))
                    {
                        used.UnionWith(argument);
                    }

                    break;
            }
        }

        public ImmutableHashSet<string> GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) =>
            None.Add(TopLevelName(handle));

        // A type of a related assembly, named by its top-level type; nested types are referenced through their declaring one.
        public ImmutableHashSet<string> GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind)
        {
            var reference = reader.GetTypeReference(handle);
            while (reference.ResolutionScope.Kind == HandleKind.TypeReference)
            {
                reference = reader.GetTypeReference((TypeReferenceHandle)reference.ResolutionScope);
            }

            if (reference.ResolutionScope.Kind != HandleKind.AssemblyReference
                || !relatedAssemblies.Contains(reader.GetString(reader.GetAssemblyReference((AssemblyReferenceHandle)reference.ResolutionScope).Name)))
            {
                return None;
            }

            var space = reader.GetString(reference.Namespace);
            var name = reader.GetString(reference.Name);
            return None.Add(space.Length == 0 ? name : space + "." + name);
        }

        public ImmutableHashSet<string> GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);

        public ImmutableHashSet<string> GetGenericInstantiation(ImmutableHashSet<string> genericType, ImmutableArray<ImmutableHashSet<string>> typeArguments) =>
            typeArguments.Aggregate(genericType, (all, argument) => all.Union(argument));

        public ImmutableHashSet<string> GetArrayType(ImmutableHashSet<string> elementType, ArrayShape shape) => elementType;

        public ImmutableHashSet<string> GetByReferenceType(ImmutableHashSet<string> elementType) => elementType;

        public ImmutableHashSet<string> GetPointerType(ImmutableHashSet<string> elementType) => elementType;

        public ImmutableHashSet<string> GetPinnedType(ImmutableHashSet<string> elementType) => elementType;

        public ImmutableHashSet<string> GetSZArrayType(ImmutableHashSet<string> elementType) => elementType;

        public ImmutableHashSet<string> GetModifiedType(ImmutableHashSet<string> modifier, ImmutableHashSet<string> unmodifiedType, bool isRequired) => unmodifiedType;

        public ImmutableHashSet<string> GetFunctionPointerType(MethodSignature<ImmutableHashSet<string>> signature) => None;

        public ImmutableHashSet<string> GetGenericMethodParameter(object? genericContext, int index) => None;

        public ImmutableHashSet<string> GetGenericTypeParameter(object? genericContext, int index) => None;

        public ImmutableHashSet<string> GetPrimitiveType(PrimitiveTypeCode typeCode) => None;

        public static void Add(HashSet<string> used, MethodSignature<ImmutableHashSet<string>> signature)
        {
            used.UnionWith(signature.ReturnType);
            foreach (var parameter in signature.ParameterTypes)
            {
                used.UnionWith(parameter);
            }
        }
    }
}
