using MongoDB.Bson;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// MongoDB's query and projection semantics for the subset the engine uses, for <see cref="MongoWireStandIn"/>: dotted
/// paths that reach into arrays of subdocuments, equality against array elements, type-exact comparison (an ObjectId
/// never equals its hex string), numbers compared by value, <c>$eq $ne $in $nin $exists $and $or $nor</c>, and
/// <c>$gt $gte $lt $lte</c> within one type bracket (a date never compares with a number, as in MongoDB). Anything else
/// throws, so a test fails loudly instead of silently matching the wrong documents.
/// </summary>
public static class MongoFilter
{
    /// <summary>Returns whether a document matches a filter.</summary>
    /// <param name="document">The stored document.</param>
    /// <param name="filter">The query filter.</param>
    /// <returns><see langword="true"/> when MongoDB would return the document.</returns>
    public static bool Matches(BsonDocument document, BsonDocument filter) => filter.Elements.All(element => element.Name switch
    {
        "$and" => element.Value.AsBsonArray.All(f => Matches(document, f.AsBsonDocument)),
        "$or" => element.Value.AsBsonArray.Any(f => Matches(document, f.AsBsonDocument)),
        "$nor" => !element.Value.AsBsonArray.Any(f => Matches(document, f.AsBsonDocument)),
        _ when element.Name.StartsWith('$') => throw new NotSupportedException($"MongoFilter does not support {element.Name}."),
        _ => FieldMatches(document, element.Name, element.Value),
    });

    /// <summary>Applies an inclusion (or exclusion) projection.</summary>
    /// <param name="document">The matched document.</param>
    /// <param name="projection">The projection.</param>
    /// <returns>The projected copy.</returns>
    public static BsonDocument Project(BsonDocument document, BsonDocument projection)
    {
        bool includeId = !projection.TryGetValue("_id", out BsonValue id) || id.ToBoolean();
        List<string> included = projection.Elements.Where(e => e.Name != "_id" && e.Value.ToBoolean()).Select(e => e.Name).ToList();
        if (included.Count == 0 && projection.Elements.Any(e => !e.Value.ToBoolean()))
        {
            BsonDocument copy = document.DeepClone().AsBsonDocument;
            foreach (BsonElement excluded in projection.Elements.Where(e => !e.Value.ToBoolean()))
            {
                Remove(copy, excluded.Name.Split('.'), 0);
            }

            return copy;
        }

        // Like MongoDB, the result keeps the stored document's field order, not the projection's.
        BsonDocument result = Include(document, included.Select(p => p.Split('.')).ToList());
        if (!includeId)
        {
            result.Remove("_id");
        }
        else if (document.TryGetValue("_id", out BsonValue value) && !result.Contains("_id"))
        {
            result.InsertAt(0, new BsonElement("_id", value));
        }

        return result;
    }

    private static bool FieldMatches(BsonDocument document, string path, BsonValue condition)
    {
        if (condition is BsonDocument operators && operators.ElementCount > 0 && operators.GetElement(0).Name.StartsWith('$'))
        {
            return operators.Elements.All(op => OperatorMatches(document, path, op.Name, op.Value));
        }

        return EqualsAt(document, path, condition);
    }

    private static bool OperatorMatches(BsonDocument document, string path, string op, BsonValue argument)
    {
        List<BsonValue> values = Values(document, path.Split('.')).ToList();
        return op switch
        {
            "$eq" => EqualsAny(values, argument),
            "$ne" => !EqualsAny(values, argument),
            "$in" => argument.AsBsonArray.Any(value => EqualsAny(values, value)),
            "$nin" => !argument.AsBsonArray.Any(value => EqualsAny(values, value)),
            "$exists" => values.Count > 0 == argument.ToBoolean(),
            "$gt" => values.Any(v => Compare(v, argument) is > 0),
            "$gte" => values.Any(v => Compare(v, argument) is >= 0),
            "$lt" => values.Any(v => Compare(v, argument) is < 0),
            "$lte" => values.Any(v => Compare(v, argument) is <= 0),
            _ => throw new NotSupportedException($"MongoFilter does not support {op}."),
        };
    }

    private static bool EqualsAt(BsonDocument document, string path, BsonValue expected) =>
        EqualsAny(Values(document, path.Split('.')).ToList(), expected);

    // {field: null} matches a missing field as well as an explicit null.
    private static bool EqualsAny(List<BsonValue> values, BsonValue expected) =>
        expected.IsBsonNull ? values.Count == 0 || values.Any(v => v.IsBsonNull) : values.Any(v => SameValue(v, expected));

    /// <summary>Orders two values of the same type bracket; <see langword="null"/> when MongoDB would not compare them.</summary>
    private static int? Compare(BsonValue stored, BsonValue bound) => (stored, bound) switch
    {
        _ when stored.IsNumeric && bound.IsNumeric => stored.ToDecimal().CompareTo(bound.ToDecimal()),
        (BsonDateTime a, BsonDateTime b) => a.MillisecondsSinceEpoch.CompareTo(b.MillisecondsSinceEpoch),
        (BsonString a, BsonString b) => string.CompareOrdinal(a.Value, b.Value),
        (BsonObjectId a, BsonObjectId b) => a.Value.CompareTo(b.Value),
        (BsonBoolean a, BsonBoolean b) => a.Value.CompareTo(b.Value),
        _ => null,
    };

    private static bool SameValue(BsonValue stored, BsonValue expected) =>
        stored.IsNumeric && expected.IsNumeric ? stored.ToDecimal() == expected.ToDecimal() : stored.Equals(expected);

    /// <summary>The values a dotted path reaches: through arrays of subdocuments, plus the elements of a final array.</summary>
    private static IEnumerable<BsonValue> Values(BsonValue current, string[] parts, int index = 0)
    {
        if (index == parts.Length)
        {
            yield return current;
            if (current is BsonArray elements)
            {
                foreach (BsonValue element in elements)
                {
                    yield return element;
                }
            }

            yield break;
        }

        if (current is BsonDocument document)
        {
            if (document.TryGetValue(parts[index], out BsonValue next))
            {
                foreach (BsonValue value in Values(next, parts, index + 1))
                {
                    yield return value;
                }
            }
        }
        else if (current is BsonArray array)
        {
            if (int.TryParse(parts[index], out int position) && position >= 0 && position < array.Count)
            {
                foreach (BsonValue value in Values(array[position], parts, index + 1))
                {
                    yield return value;
                }
            }

            foreach (BsonDocument element in array.OfType<BsonDocument>())
            {
                foreach (BsonValue value in Values(element, parts, index))
                {
                    yield return value;
                }
            }
        }
    }

    private static BsonDocument Include(BsonDocument source, List<string[]> paths)
    {
        var result = new BsonDocument();
        foreach (BsonElement element in source)
        {
            List<string[]> below = paths.Where(p => p[0] == element.Name).ToList();
            if (element.Name == "_id" && below.Count == 0)
            {
                result.Add(element.Name, element.Value);
            }
            else if (below.Any(p => p.Length == 1))
            {
                result.Add(element.Name, element.Value.DeepClone());
            }
            else if (below.Count > 0)
            {
                List<string[]> rest = below.Select(p => p[1..]).ToList();
                if (element.Value is BsonDocument child)
                {
                    result.Add(element.Name, Include(child, rest));
                }
                else if (element.Value is BsonArray array)
                {
                    // A path through an array projects each subdocument and drops the other elements.
                    result.Add(element.Name, new BsonArray(array.OfType<BsonDocument>().Select(d => Include(d, rest))));
                }
            }
        }

        return result;
    }

    private static void Remove(BsonDocument document, string[] parts, int index)
    {
        if (index == parts.Length - 1)
        {
            document.Remove(parts[index]);
        }
        else if (document.GetValue(parts[index], null) is BsonDocument child)
        {
            Remove(child, parts, index + 1);
        }
        else if (document.GetValue(parts[index], null) is BsonArray array)
        {
            foreach (BsonDocument element in array.OfType<BsonDocument>())
            {
                Remove(element, parts, index + 1);
            }
        }
    }
}
