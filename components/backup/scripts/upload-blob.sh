#!/bin/sh
# Uploads FILE to Azure Blob Storage as <PREFIX><UTC time stamp><SUFFIX>, then keeps the newest KEEP blobs under
# PREFIX. It signs in as the pod's workload identity (the AKS webhook sets AZURE_CLIENT_ID, AZURE_TENANT_ID,
# AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST): the service account token is exchanged for a Storage token
# (Microsoft identity platform, client credentials with a federated client assertion). No storage key anywhere.
set -eu
: "${FILE:?}" "${BLOB_ENDPOINT:?}" "${CONTAINER:?}" "${PREFIX:?}" "${SUFFIX:?}" "${KEEP:?}"
: "${AZURE_CLIENT_ID:?}" "${AZURE_TENANT_ID:?}" "${AZURE_FEDERATED_TOKEN_FILE:?}" "${AZURE_AUTHORITY_HOST:?}"

size=$(wc -c <"$FILE")
if [ "$size" -eq 0 ]; then
    echo "$FILE is empty: nothing uploaded" >&2
    exit 1
fi
# One Put Blob takes at most this many bytes (x-ms-version @API_VERSION@).
max_bytes="@MAX_PUT_BYTES@"
if [ "$size" -gt "$max_bytes" ]; then
    echo "$FILE is $size bytes, over what one Put Blob takes ($max_bytes): not uploaded" >&2
    exit 1
fi

# --fail-with-body: a refusal exits non-zero and still shows the service's reason, printed before exiting.
if ! answer=$(curl -sS --fail-with-body -X POST "${AZURE_AUTHORITY_HOST%/}/$AZURE_TENANT_ID/oauth2/v2.0/token" \
    --data-urlencode "client_id=$AZURE_CLIENT_ID" \
    --data-urlencode "grant_type=client_credentials" \
    --data-urlencode "scope=https://storage.azure.com/.default" \
    --data-urlencode "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer" \
    --data-urlencode "client_assertion=$(cat "$AZURE_FEDERATED_TOKEN_FILE")" 2>&1); then
    echo "token exchange at $AZURE_AUTHORITY_HOST refused: $answer" >&2
    exit 1
fi
token=$(printf '%s' "$answer" | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
if [ -z "$token" ]; then
    echo "no access token from $AZURE_AUTHORITY_HOST: $answer" >&2
    exit 1
fi

# blob <curl arguments>: one Blob request; its answer on stdout, or the refusal on stderr and a non-zero exit.
blob() {
    if ! out=$(curl -sS --fail-with-body -H "Authorization: Bearer $token" -H "x-ms-version: @API_VERSION@" "$@" 2>&1); then
        echo "Blob Storage refused: $out" >&2
        return 1
    fi
    printf '%s' "$out"
}
container="$BLOB_ENDPOINT/$CONTAINER"
name="$PREFIX$(date -u +%Y%m%dT%H%M%SZ)$SUFFIX"

# -T streams the file (PUT), however large, instead of reading it into memory.
blob -T "$FILE" -H "x-ms-blob-type: BlockBlob" -H "Content-Type: application/octet-stream" "$container/$name" >/dev/null
echo "uploaded $size bytes to $CONTAINER/$name"

# Retention: the names sort by their time stamps; everything under PREFIX past the newest KEEP is deleted.
listing=$(blob "$container?restype=container&comp=list&prefix=$PREFIX")
printf '%s' "$listing" | tr '<' '\n' | sed -n 's/^Name>//p' | sort -r | tail -n +"$((KEEP + 1))" | while read -r old; do
    blob -X DELETE "$container/$old" >/dev/null
    echo "deleted $CONTAINER/$old (keeping $KEEP)"
done
