using System.Globalization;
using System.Net;

namespace RegistryCleaner.Registry;

/// <content>
/// Bounds on what a registry can make the client read: every answer is read within a byte limit inside its attempt
/// (<see cref="RegistryTransport"/>), listings stop at a page, item and time budget, and blobs are read up to their
/// descriptor's size and checked against their digest.
/// </content>
public sealed partial class RegistryClient
{
    private RegistryLimitException OverLimit(ResponseLimit limit, long? announced) => RegistryTransport.OverLimit(this.Name, limit, announced);

    /// <summary>Checks a blob read within its descriptor's size against that size and its digest, before anyone uses it.</summary>
    private void VerifyBlob(string repository, string digest, long size, byte[] content)
    {
        string what = $"blob {repository}@{digest}";
        if (content.Length != size)
        {
            throw new BlobContentException(this.Name, string.Create(CultureInfo.InvariantCulture, $"Registry {this.Name} sent {what} with {content.Length} bytes, not the {size} bytes its descriptor names; it was not used."));
        }

        string computed = ContentDigest.Compute(digest, content)
            ?? throw new BlobContentException(this.Name, $"Blob {repository}@{digest} uses the digest algorithm '{ContentDigest.Algorithm(digest)}', which RegistryCleaner cannot verify (sha256 and sha512 only); it was not used.");
        if (!string.Equals(computed, digest, StringComparison.Ordinal))
        {
            throw new BlobContentException(this.Name, $"Registry {this.Name} sent {what} whose content hashes to {computed}, not to its digest; it was not used.");
        }
    }

    /// <summary>
    /// Checks a manifest against the digest it was asked for, or by tag against the registry's
    /// <c>Docker-Content-Digest</c>, with that digest's algorithm.
    /// </summary>
    private void VerifyManifest(string repository, string reference, string expected, ReadOnlySpan<byte> content, bool fromHeader)
    {
        string computed = ContentDigest.Compute(expected, content)
            ?? throw new ManifestFormatException(this.Name, repository, reference, $"{(fromHeader ? "the registry's Docker-Content-Digest " : "the digest ")}{expected} uses the algorithm '{ContentDigest.Algorithm(expected)}', which RegistryCleaner cannot verify (sha256 and sha512 only)");
        if (!string.Equals(computed, expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new ManifestFormatException(
                this.Name,
                repository,
                reference,
                fromHeader
                    ? $"its content hashes to {computed}, not to the Docker-Content-Digest {expected} the registry sent with it"
                    : $"its content hashes to {computed}, not to the requested digest");
        }
    }

    /// <summary>
    /// The budget of one listing: pages, entries and time (<see cref="RegistryClientOptions.ListingDeadline"/>), so
    /// an endless chain of distinct <c>Link</c> pages ends with an error that names the limit.
    /// </summary>
    private sealed class ListingBudget : IDisposable
    {
        private readonly RegistryClient client;
        private readonly string what;
        private readonly CancellationToken caller;
        private readonly CancellationTokenSource deadline;
        private int pages;

        public ListingBudget(RegistryClient client, string what, CancellationToken caller)
        {
            this.client = client;
            this.what = what;
            this.caller = caller;
            this.deadline = CancellationTokenSource.CreateLinkedTokenSource(caller);
            this.deadline.CancelAfter(client.options.ListingDeadline);
        }

        /// <summary>Gets the token every request of the listing uses: the caller's, cancelled at the deadline too.</summary>
        public CancellationToken Token => this.deadline.Token;

        public ResponseLimit PageLimit => new(this.client.options.MaxListingPageBytes, nameof(RegistryClientOptions.MaxListingPageBytes), $"a page of {this.what}");

        /// <summary>Counts the next page; throws when the listing has had its pages.</summary>
        public void NextPage()
        {
            int max = this.client.options.MaxListingPages;
            if (++this.pages > max)
            {
                throw new RegistryLimitException(
                    this.client.Name,
                    nameof(RegistryClientOptions.MaxListingPages),
                    string.Create(CultureInfo.InvariantCulture, $"Registry {this.client.Name} kept sending Link headers to more pages of {this.what} after {max} pages (MaxListingPages); the listing was stopped and is an error, not a partial list."));
            }
        }

        /// <summary>Checks the entries read so far.</summary>
        public void CheckItems(int items)
        {
            int max = this.client.options.MaxListingItems;
            if (items > max)
            {
                throw new RegistryLimitException(
                    this.client.Name,
                    nameof(RegistryClientOptions.MaxListingItems),
                    string.Create(CultureInfo.InvariantCulture, $"Registry {this.client.Name} listed more than {max} entries of {this.what} (MaxListingItems); the listing was stopped and is an error, not a partial list."));
            }
        }

        /// <summary>Turns a cancellation by the deadline (not by the caller) into the limit error.</summary>
        public RegistryLimitException? Expired(Exception ex) =>
            ex is OperationCanceledException && this.deadline.IsCancellationRequested && !this.caller.IsCancellationRequested
                ? new RegistryLimitException(
                    this.client.Name,
                    nameof(RegistryClientOptions.MaxListingTime),
                    string.Create(
                        CultureInfo.InvariantCulture,
                        $"Registry {this.client.Name} did not finish listing {this.what} within {this.client.options.ListingDeadline.TotalSeconds:0.#} s (MaxListingTime{(this.client.options.MaxListingTime is null ? $": {RegistryClientOptions.ListingTimeoutFactor} times -TimeoutSec" : string.Empty)}) after {this.pages} pages; the listing was stopped and is an error, not a partial list."),
                    ex)
                : null;

        public void Dispose() => this.deadline.Dispose();
    }
}
