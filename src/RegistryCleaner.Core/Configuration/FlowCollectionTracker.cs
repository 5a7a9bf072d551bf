using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace RegistryCleaner.Configuration;

/// <summary>Passes parser events through and remembers which collections are open, so an error can name an unclosed [ or {.</summary>
internal sealed class FlowCollectionTracker(IParser inner) : IParser
{
    private readonly Stack<(Mark Start, bool Flow, bool Sequence)> open = new();

    /// <summary>Gets the innermost open flow collection, if any.</summary>
    public (Mark Start, bool Sequence)? Open =>
        this.open.FirstOrDefault(c => c.Flow) is { Flow: true } flow ? (flow.Start, flow.Sequence) : null;

    /// <inheritdoc />
    public ParsingEvent? Current => inner.Current;

    /// <inheritdoc />
    public bool MoveNext()
    {
        bool moved = inner.MoveNext();
        switch (inner.Current)
        {
            case SequenceStart sequence:
                this.open.Push((sequence.Start, sequence.Style == SequenceStyle.Flow, true));
                break;
            case MappingStart mapping:
                this.open.Push((mapping.Start, mapping.Style == MappingStyle.Flow, false));
                break;
            case SequenceEnd or MappingEnd when this.open.Count > 0:
                this.open.Pop();
                break;
        }

        return moved;
    }
}
