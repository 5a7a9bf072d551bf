using RegistryCleaner.Registry;

namespace RegistryCleaner.Deletion;

/// <summary>
/// What one deletion run knows about the tags of one repository while several DELETEs run in it at once: the digest
/// each tag points at (from the plan, or read with one HEAD when a listing first shows the tag), the tags of the latest
/// listing, and the DELETEs of this run in flight. Listings are shared: whoever needs a listing taken after a moment
/// joins the one that starts next, so any number of workers wait on one listing at a time instead of one each. Each
/// listing is compared with the one before; a tag that left in between is explained by the DELETE that planned it, put
/// back by the DELETE of the manifest it pointed at, or, when it had moved and several DELETEs could have taken it,
/// reported as ambiguous (never put back on a manifest it cannot be shown to have pointed at), after which the
/// repository's DELETEs go one at a time. A tag last known on another manifest that still exists, or whose manifest
/// could not be read, is never put back: on any registry someone may have moved it elsewhere and deleted that manifest,
/// or deleted the tag alone, at that moment, so it is reported. Only a tag last known on the manifest deleted goes back.
/// </summary>
internal sealed class TagWatch
{
    private readonly RegistryClient client;
    private readonly string repository;
    private readonly IReadOnlyDictionary<string, string>? planned;
    private readonly Func<string, IReadOnlyList<TagWindow>, string, string> describeAmbiguity;
    private readonly bool trustPlan;
    private readonly TimeSpan sweepInterval;
    private readonly System.Diagnostics.Stopwatch sinceSweep = new();
    private readonly object gate = new();

    // Tags read since the plan (or not planned at all): their digest, null when they were gone when read.
    private readonly Dictionary<string, string?> read = new(StringComparer.Ordinal);

    // Which tags point at a digest, as far as known: the plan's, corrected by every tag read since.
    private readonly Dictionary<string, HashSet<string>> byDigest = new(StringComparer.Ordinal);
    private readonly List<TagWindow> windows = [];
    private long clock;
    private HashSet<string>? present;
    private long presentSince;
    private Listing? running;
    private Listing? next;
    private int openedSinceSweep;

    /// <summary>Initializes the watch of one repository.</summary>
    /// <param name="client">The registry client.</param>
    /// <param name="repository">The repository.</param>
    /// <param name="planned">Each tag's digest when the plan was made, if known.</param>
    /// <param name="trustPlan">Whether the plan's digests were read moments ago, so the first listing trusts them.</param>
    /// <param name="sweepInterval">How long the digests read in a sweep are trusted.</param>
    /// <param name="describeAmbiguity">Words for a tag that left while several DELETEs could have taken it.</param>
    public TagWatch(
        RegistryClient client,
        string repository,
        IReadOnlyDictionary<string, string>? planned,
        bool trustPlan,
        TimeSpan sweepInterval,
        Func<string, IReadOnlyList<TagWindow>, string, string> describeAmbiguity)
    {
        this.client = client;
        this.repository = repository;
        this.planned = planned;
        this.trustPlan = trustPlan;
        this.sweepInterval = sweepInterval;
        this.describeAmbiguity = describeAmbiguity;
        if (planned is not null)
        {
            foreach ((string tag, string digest) in planned)
            {
                this.Index(tag, digest);
            }
        }
    }

    /// <summary>How many HEADs per DELETE a sweep of every tag may cost.</summary>
    public const int SweepHeadsPerDelete = 4;

    /// <summary>Gets whether DELETEs in this repository must go one at a time (a tag could not be told apart).</summary>
    public bool Serial { get; private set; }

    /// <summary>Gets the gate that makes DELETEs one at a time once <see cref="Serial"/>.</summary>
    public SemaphoreSlim SerialGate { get; } = new(1, 1);

    /// <summary>Gets how many listings were read (for measurements and tests).</summary>
    public int Listings { get; private set; }

    /// <summary>A moment on this watch's clock: a listing that starts later is taken after it.</summary>
    public long Now() => Interlocked.Increment(ref this.clock);

    /// <summary>Waits for a listing that started after <paramref name="moment"/> and was compared with the one before.</summary>
    public Task WaitListingAfterAsync(long moment, CancellationToken cancellationToken)
    {
        Task task;
        lock (this.gate)
        {
            if (this.present is not null && this.presentSince > moment)
            {
                return Task.CompletedTask;
            }

            if (this.running is { } current && current.Start > moment)
            {
                task = current.Done.Task;
            }
            else
            {
                this.next ??= new Listing();
                this.next.Waiters++;
                task = this.next.Done.Task;
                if (this.running is null)
                {
                    this.StartNext();
                }
            }
        }

        return task.WaitAsync(cancellationToken);
    }

    /// <summary>A tag of the latest listing, other than <paramref name="deleting"/>, that points at the digest as far as known.</summary>
    public string? OtherTagOn(string digest, IReadOnlySet<string> deleting)
    {
        lock (this.gate)
        {
            if (this.present is null || !this.byDigest.TryGetValue(digest, out HashSet<string>? tags))
            {
                return null;
            }

            return tags.Where(t => this.present.Contains(t) && !deleting.Contains(t)).Order(StringComparer.Ordinal).FirstOrDefault();
        }
    }

    /// <summary>Whether the latest listing shows the tag.</summary>
    public bool IsListed(string tag)
    {
        lock (this.gate)
        {
            return this.present?.Contains(tag) == true;
        }
    }

    /// <summary>Whether the latest listing shows the tag and it is known to point at another manifest than the digest.</summary>
    public bool IsListedElsewhere(string tag, string digest)
    {
        lock (this.gate)
        {
            return this.present?.Contains(tag) == true && this.Known(tag) is { } known && !string.Equals(known, digest, StringComparison.Ordinal);
        }
    }

    /// <summary>Registers a DELETE about to be sent: the tags it is to remove are explained when they leave.</summary>
    public TagWindow Open(string digest, IReadOnlyList<string> tags, bool manifest)
    {
        var window = new TagWindow(digest, tags, manifest) { Sent = this.Now() };
        lock (this.gate)
        {
            this.openedSinceSweep++;
            this.windows.Add(window);
        }

        return window;
    }

    /// <summary>Marks a DELETE answered (or lost): it can take no tag after the next listing starts.</summary>
    public void Close(TagWindow window) => window.Done = this.Now();

    /// <summary>A tag now points at the digest (it was put back there, or read).</summary>
    public void Learn(string tag, string? digest)
    {
        lock (this.gate)
        {
            this.Forget(tag);
            this.read[tag] = digest;
            if (digest is not null)
            {
                this.Index(tag, digest);
            }
        }
    }

    private string? Known(string tag) =>
        this.read.TryGetValue(tag, out string? digest) ? digest : this.planned?.GetValueOrDefault(tag);

    private bool IsKnown(string tag) => this.read.ContainsKey(tag) || this.planned?.ContainsKey(tag) == true;

    private void Index(string tag, string digest)
    {
        if (!this.byDigest.TryGetValue(digest, out HashSet<string>? tags))
        {
            this.byDigest[digest] = tags = new HashSet<string>(StringComparer.Ordinal);
        }

        tags.Add(tag);
    }

    private void Forget(string tag)
    {
        if (this.Known(tag) is { } old && this.byDigest.TryGetValue(old, out HashSet<string>? tags))
        {
            tags.Remove(tag);
        }
    }

    // Under the gate.
    private void StartNext()
    {
        Listing listing = this.next!;
        this.next = null;
        this.running = listing;
        listing.Start = this.Now();
        _ = Task.Run(() => this.RunAsync(listing));
    }

    private async Task RunAsync(Listing listing)
    {
        try
        {
            await this.ReadAsync(listing).ConfigureAwait(false);
            listing.Done.TrySetResult();
        }
        catch (Exception ex)
        {
            listing.Done.TrySetException(ex);
        }
        finally
        {
            lock (this.gate)
            {
                this.running = null;
                if (this.next is not null)
                {
                    this.StartNext();
                }
            }
        }
    }

    /// <summary>Lists the tags, reads the new ones, and accounts for every tag that left since the listing before.</summary>
    private async Task ReadAsync(Listing listing)
    {
        IReadOnlyList<string> tags;
        try
        {
            tags = await this.client.ListTagsAsync(this.repository, 1000, CancellationToken.None).ConfigureAwait(false);
        }
        catch (RepositoryNotFoundException)
        {
            tags = [];
        }

        long end = this.Now();
        var now = new HashSet<string>(tags, StringComparer.Ordinal);
        List<string> unread;
        var moved = new List<(string Tag, string Known, TagWindow[] Candidates)>();
        lock (this.gate)
        {
            this.Listings++;

            // A sweep reads every tag again, so a tag moved onto a candidate since the plan is seen before the DELETE;
            // it is done only while it costs at most SweepHeadsPerDelete HEADs per DELETE of this run, so its cost
            // grows like the DELETEs', never with the repository alone.
            // The first listing trusts the plan it was just read for, unless the run was given none.
            bool sweep = this.present is null
                ? this.planned is null || !this.trustPlan
                : this.sweepInterval != Timeout.InfiniteTimeSpan && this.sinceSweep.Elapsed >= this.sweepInterval
                    && tags.Count <= SweepHeadsPerDelete * (long)(this.openedSinceSweep + listing.Waiters);
            if (sweep)
            {
                this.openedSinceSweep = 0;
                this.sinceSweep.Restart();
            }

            unread = sweep
                ? [.. tags]
                : [.. tags.Where(t => !this.IsKnown(t) || this.Known(t) is null || (this.present is not null && !this.present.Contains(t)))];
            if (this.present is not null)
            {
                long from = this.presentSince;
                TagWindow[] overlapping = [.. this.windows.Where(w => w.Sent < end && (w.Done == 0 || w.Done > from))];
                TagWindow[] manifests = [.. overlapping.Where(w => w.Manifest)];
                foreach (string tag in this.present.Where(t => !now.Contains(t)))
                {
                    if (overlapping.FirstOrDefault(w => w.Tags.Contains(tag, StringComparer.Ordinal)) is { } planner)
                    {
                        planner.Removed.Add(tag);
                        continue;
                    }

                    string? known = this.Known(tag);
                    if (known is null)
                    {
                        // Gone when last read: it pointed at none of ours.
                        continue;
                    }

                    if (manifests.FirstOrDefault(w => w.Digest == known) is { } owner)
                    {
                        owner.Unplanned.Add(tag);
                        continue;
                    }

                    if (manifests.Length > 0)
                    {
                        moved.Add((tag, known, manifests));
                    }
                }
            }
        }

        // Last seen on another manifest: if that one is gone, another run deleted it and the tag went with it. If it
        // still exists, the tag may have moved onto one of ours and gone with its DELETE, or someone deleted it alone,
        // or moved it onto a third manifest and deleted that one by digest, on any registry: never put back, since a
        // lost tag is loud and restorable while a tag on an image it never pointed at is silent. A HEAD that fails
        // tells neither, so the tag is reported the same way.
        foreach ((string tag, string known, TagWindow[] candidates) in moved)
        {
            string? headError = null;
            try
            {
                if (await this.client.HeadManifestAsync(this.repository, known, CancellationToken.None).ConfigureAwait(false) is null)
                {
                    continue;
                }
            }
            catch (RegistryException ex)
            {
                headError = ex.Message;
            }

            lock (this.gate)
            {
                if (candidates.Length == 1)
                {
                    candidates[0].Undecided.Add(new UndecidedTag(tag, known, headError));
                }
                else
                {
                    this.Ambiguous(
                        tag,
                        candidates,
                        headError is null
                            ? $"it pointed at {known} when last read, which still exists, so it had moved onto one of them since"
                            : $"it pointed at {known} when last read, and whether that still exists could not be read: {headError}");
                }
            }
        }

        // Tags first seen (or seen again after they were gone): one HEAD each, so the checks know where they point.
        var gone = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(
            unread,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, this.client.Options.MaxConcurrency) },
            async (tag, token) =>
            {
                string? digest;
                try
                {
                    digest = await this.client.HeadManifestAsync(this.repository, tag, token).ConfigureAwait(false);
                }
                catch (RegistryException) when (this.planned?.GetValueOrDefault(tag) is not null)
                {
                    digest = this.planned[tag];
                }

                this.Learn(tag, digest);
                if (digest is null)
                {
                    gone.Add(tag);
                }
            }).ConfigureAwait(false);

        long read = this.Now();
        lock (this.gate)
        {
            // Listed, then gone before its HEAD: if a DELETE of ours ran in between, it may have taken the tag, and
            // where the tag pointed is unknown: reported, never guessed.
            TagWindow[] between = [.. this.windows.Where(w => w.Manifest && w.Sent < read && (w.Done == 0 || w.Done > listing.Start))];
            foreach (string tag in gone.Order(StringComparer.Ordinal))
            {
                if (between.Length > 0 && !between.Any(w => w.Tags.Contains(tag, StringComparer.Ordinal)))
                {
                    now.Remove(tag);
                    this.Ambiguous(tag, between, "it was listed and gone before it could be read");
                }
            }

            this.present = now;
            this.presentSince = listing.Start;

            // A DELETE answered before this listing started can take no tag it has not shown as gone already.
            this.windows.RemoveAll(w => w.Done != 0 && w.Done < listing.Start && w.Collected);
        }
    }

    // Under the gate.
    private void Ambiguous(string tag, TagWindow[] candidates, string why)
    {
        this.Serial = true;
        TagWindow reporter = candidates.OrderBy(w => w.Sent).First();
        reporter.Problems.Add(this.describeAmbiguity(tag, candidates, why));
    }

    private sealed class Listing
    {
        public long Start { get; set; }

        /// <summary>Gets or sets how many checks wait for this listing (each about to DELETE, or just done).</summary>
        public int Waiters { get; set; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>One DELETE of this run in a repository, from just before it is sent until the listing after its answer.</summary>
/// <param name="Digest">The manifest it deletes (or whose tag it deletes).</param>
/// <param name="Tags">The tags it is to remove.</param>
/// <param name="Manifest">Whether it deletes a manifest (and so every tag on it), not a tag alone.</param>
internal sealed record TagWindow(string Digest, IReadOnlyList<string> Tags, bool Manifest)
{
    public long Sent { get; init; }

    public long Done { get; set; }

    public bool Collected { get; set; }

    /// <summary>Gets the planned tags seen gone.</summary>
    public List<string> Removed { get; } = [];

    /// <summary>Gets the tags that left with it although not planned: they pointed at its manifest.</summary>
    public List<string> Unplanned { get; } = [];

    /// <summary>
    /// Gets the tags last known on another manifest that still exists (or could not be read) which left while it ran
    /// and no other DELETE of ours: each with the digest it was last known on. Never put back, always reported.
    /// </summary>
    public List<UndecidedTag> Undecided { get; } = [];

    /// <summary>Gets the tags that left while it ran and cannot be told apart.</summary>
    public List<string> Problems { get; } = [];
}

/// <summary>A tag that left during one DELETE of ours while last known on another manifest: reported, never put back.</summary>
/// <param name="Tag">The tag.</param>
/// <param name="LastKnown">The manifest it pointed at when last read.</param>
/// <param name="Unread">Why that manifest could not be read (the HEAD's error); <see langword="null"/> when it still exists.</param>
internal sealed record UndecidedTag(string Tag, string LastKnown, string? Unread);
