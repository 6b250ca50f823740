// "Your files": every file the user uploaded, listed and downloaded
// straight from S3 with the browser's own AWS credentials, which the
// identity pool hands out for the user pool's ID token. The session's
// role lets it list and read `users/<sub>/` of the attachments bucket and
// nothing else, so a listing costs no function and no API call. Uploads
// keep their presigned URLs and the S3-triggered check; deletions go
// through the API, which keeps the todo and its files in step.
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { fromCognitoIdentityPool } from "@aws-sdk/credential-provider-cognito-identity";

import type { Config } from "./config.js";
import { $, h } from "./ui.js";

export interface StoredFile {
  key: string;
  size: number;
  modified?: Date;
}

/** Where a user's files are: the todos service's layout. */
export function prefixOf(sub: string): string {
  return `users/${sub}/`;
}

/** The S3 client of one signed-in user: a new sign-in makes a new one. */
export class Files {
  private readonly s3: S3Client;

  constructor(
    private readonly config: Config,
    private readonly sub: string,
    idToken: () => string | null,
  ) {
    const provider = `cognito-idp.${config.region}.amazonaws.com/${config.userPoolId}`;
    const credentials = fromCognitoIdentityPool({
      identityPoolId: config.identityPoolId ?? "",
      // The identity id it keeps in the browser is this user's alone.
      userIdentifier: sub,
      // Read at each exchange: a renewed token, not the first one.
      logins: { [provider]: async () => idToken() ?? "" },
      clientConfig: { region: config.region, endpoint: config.local ? config.cognitoEndpoint : undefined },
    });
    this.s3 = new S3Client({
      region: config.region,
      credentials,
      endpoint: config.s3Endpoint,
      forcePathStyle: Boolean(config.s3Endpoint),
    });
  }

  /** The files under `prefix` (the user's own unless told otherwise). */
  async list(prefix = prefixOf(this.sub)): Promise<StoredFile[]> {
    const files: StoredFile[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.config.filesBucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) files.push({ key: o.Key, size: o.Size ?? 0, modified: o.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return files;
  }

  async download(key: string): Promise<Blob> {
    const got = await this.s3.send(new GetObjectCommand({ Bucket: this.config.filesBucket, Key: key }));
    const bytes = await got.Body?.transformToByteArray();
    return new Blob([bytes ?? new Uint8Array()], { type: got.ContentType ?? "application/octet-stream" });
  }
}

/** The files panel: loads on demand, each file with its download. */
export class FilesView {
  private files: Files | null = null;
  private wired = false;

  show(files: Files | null): void {
    this.files = files;
    $("#files-panel").hidden = files === null;
    $("#files").replaceChildren();
    $("#files-error").textContent = "";
    if (!this.wired) {
      this.wired = true;
      $("#files-load").addEventListener("click", () => void this.load());
    }
  }

  private async load(): Promise<void> {
    const files = this.files;
    if (!files) return;
    $("#files-error").textContent = "";
    try {
      const listed = await files.list();
      $("#files").replaceChildren(...listed.map((f) => this.item(files, f)));
      $("#files").dataset.loaded = String(listed.length);
    } catch (e) {
      $("#files-error").textContent = `Your files could not be listed: ${(e as Error).message}`;
    }
  }

  private item(files: Files, f: StoredFile): HTMLLIElement {
    const name = f.key.split("/").slice(-3).join("/");
    const button = h("button", { type: "button", class: "file-download" }, "Download");
    const li = h("li", { class: "file", "data-key": f.key }, h("span", {}, `${name} (${f.size} bytes)`), button);
    button.addEventListener("click", async () => {
      try {
        const blob = await files.download(f.key);
        li.dataset.downloaded = String(blob.size);
        const a = h("a", { href: URL.createObjectURL(blob), download: f.key.split("/").pop() ?? "file" });
        a.click();
        URL.revokeObjectURL(a.href);
      } catch (e) {
        li.dataset.error = (e as Error).message;
      }
    });
    return li;
  }
}
