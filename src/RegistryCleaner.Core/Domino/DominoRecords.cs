namespace RegistryCleaner.Domino;

/// <summary>A Domino environment (<c>environments_v2</c>).</summary>
/// <param name="Id">The environment's ObjectId, lower-case hex.</param>
/// <param name="Name">The environment's name (empty when the record has none).</param>
public sealed record DominoEnvironment(string Id, string Name);

/// <summary>An environment revision (<c>environment_revisions</c>) and its full document for backup.</summary>
/// <param name="RevisionId">The revision's ObjectId, lower-case hex.</param>
/// <param name="EnvironmentId">The owning environment's ObjectId, lower-case hex (empty when the record has none).</param>
/// <param name="Repository">The image repository (<c>metadata.dockerImageName.repository</c>), if recorded.</param>
/// <param name="Tag">The image tag (<c>metadata.dockerImageName.tag</c>), if recorded.</param>
/// <param name="Created">When the revision was created (<c>metadata.created</c>), if recorded.</param>
/// <param name="ExtendedJson">The whole document as canonical MongoDB Extended JSON on one line, for backups.</param>
public sealed record EnvironmentRevision(
    string RevisionId,
    string EnvironmentId,
    string? Repository,
    string? Tag,
    DateTimeOffset? Created,
    string ExtendedJson);
