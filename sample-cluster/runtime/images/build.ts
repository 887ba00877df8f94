/**
 * The cluster's images, built locally with no registry at all:
 *
 * - `chaoscope/node-base:<hash>`: FROM scratch, the Linux Node binary the project already has plus
 *   the shared libraries it links, a passwd file and a writable /data for user 1000. Where the host
 *   binary cannot serve (a macOS host, another CPU), a pulled `node:22-bookworm-slim` stands in, if
 *   a registry answers.
 * - `chaoscope/services:<hash>`: the base plus every service's esbuild bundle in /app (one image
 *   for all services: the bundles share chunks, and one image is one build).
 *
 * Each tag is a hash of what went in, also kept in the `io.chaoscope.content-hash` label, so an
 * unchanged input is never rebuilt. Builds go through the engine's classic builder, whose
 * `Step N/M` lines become progress events.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import type Docker from 'dockerode';
import { pack, type PackOptions } from 'tar-fs';
import { LABEL } from '../docker/labels.ts';
import { findNodeBinary, inspectNodeBinary, type NodeBinary } from './node-binary.ts';

/** Bump when the image recipe changes, so old images are not mistaken for current ones. */
const RECIPE = 3;
export const SERVICE_PORT = 8000;
export const APP_DIR = '/app';
export const DATA_DIR = '/data';
export const NODE_IN_IMAGE = '/usr/local/bin/node';
/** Uid and gid the services run as: never root. */
export const SERVICE_USER = '1000:1000';
const REGISTRY_BASE = 'node:22-bookworm-slim';

export type ImageName = 'node-base' | 'services';

export type BuildProgress =
  | {
      readonly kind: 'step';
      readonly image: ImageName;
      readonly step: number;
      readonly total: number;
      readonly instruction: string;
    }
  | { readonly kind: 'cached'; readonly image: ImageName; readonly tag: string }
  | { readonly kind: 'built'; readonly image: ImageName; readonly tag: string; readonly elapsedMs: number }
  | { readonly kind: 'note'; readonly message: string };

export interface EnsureImagesOptions {
  readonly docker: Docker;
  readonly repoRoot: string;
  /** Directory with the bundles (`<name>.mjs` and their shared chunks). */
  readonly bundleDir: string;
  /** Docker architecture of the engine (from preflight). */
  readonly engineArch: string;
  /** Scratch space for build contexts. */
  readonly workDir: string;
  /** Node binary for the base image; default: the project's `node` devDependency. */
  readonly nodePath?: string;
  readonly onProgress?: (event: BuildProgress) => void;
}

export interface ImagesResult {
  /** The tag containers run. */
  readonly image: string;
  readonly base: string;
  readonly baseSource: 'host-node' | 'registry';
  /** Which images had to be built in this call. */
  readonly built: readonly ImageName[];
  readonly elapsedMs: number;
}

export async function ensureImages(options: EnsureImagesOptions): Promise<ImagesResult> {
  const began = performance.now();
  const built: ImageName[] = [];
  const base = await ensureBase(options, built);
  const files = await bundleFiles(options.bundleDir);
  const hash = await servicesHash(options.bundleDir, files, base.tag);
  const tag = `chaoscope/services:${hash.slice(0, 16)}`;
  if (await hasImage(options.docker, tag, hash)) {
    options.onProgress?.({ kind: 'cached', image: 'services', tag });
  } else {
    const started = performance.now();
    const dockerfile = [
      `FROM ${base.tag}`,
      ...(base.source === 'registry'
        ? [
            'USER root',
            `RUN mkdir -p ${DATA_DIR} && chown ${SERVICE_USER} ${DATA_DIR}`,
            `USER ${SERVICE_USER}`,
          ]
        : []),
      `COPY app/ ${APP_DIR}/`,
      `WORKDIR ${APP_DIR}`,
    ].join('\n');
    const context = pack(options.bundleDir, {
      entries: files,
      map: (header) => ({
        ...header,
        name: `app/${header.name}`,
        uid: 0,
        gid: 0,
        mode: header.type === 'directory' ? 0o755 : 0o644,
      }),
      finalize: false,
      finish: (tar) => {
        tar.entry({ name: 'Dockerfile', mode: 0o644 }, `${dockerfile}\n`);
        tar.finalize();
      },
    });
    await buildImage(options, context, tag, 'services', hash);
    built.push('services');
    options.onProgress?.({
      kind: 'built',
      image: 'services',
      tag,
      elapsedMs: Math.round(performance.now() - started),
    });
    await pruneOld(options.docker, 'services', tag);
  }
  return {
    image: tag,
    base: base.tag,
    baseSource: base.source,
    built,
    elapsedMs: Math.round(performance.now() - began),
  };
}

async function ensureBase(
  options: EnsureImagesOptions,
  built: ImageName[],
): Promise<{ tag: string; source: 'host-node' | 'registry' }> {
  let binary: NodeBinary | undefined;
  let why = '';
  const path = findNodeBinary(options.repoRoot, options.nodePath);
  if (!path) why = 'no Node binary found (node_modules/node/bin/node)';
  else {
    try {
      binary = await inspectNodeBinary(path);
      if (binary.arch !== options.engineArch) {
        why = `the local Node binary is for ${binary.arch}, the engine runs ${options.engineArch}`;
        binary = undefined;
      }
    } catch (error) {
      why = (error as Error).message;
    }
  }
  if (!binary) {
    options.onProgress?.({ kind: 'note', message: `${why}; trying to pull ${REGISTRY_BASE}` });
    try {
      if (!(await hasImage(options.docker, REGISTRY_BASE))) await pull(options.docker, REGISTRY_BASE);
    } catch (error) {
      throw new Error(
        `cannot make a base image: ${why}, and pulling ${REGISTRY_BASE} failed (${(error as Error).message})`,
      );
    }
    return { tag: REGISTRY_BASE, source: 'registry' };
  }

  const hash = await baseHash(binary);
  const tag = `chaoscope/node-base:${hash.slice(0, 16)}`;
  if (await hasImage(options.docker, tag, hash)) {
    options.onProgress?.({ kind: 'cached', image: 'node-base', tag });
    return { tag, source: 'host-node' };
  }
  const started = performance.now();
  // tar-fs packs from one directory only: a staging directory of symlinks to the host files,
  // packed with dereference, puts their content (not the links) at their place in the image.
  const staging = join(options.workDir, 'node-base-context');
  await rm(staging, { recursive: true, force: true });
  const links: Array<[string, string]> = [
    [`rootfs${NODE_IN_IMAGE}`, binary.path],
    ...binary.libraries.map((lib): [string, string] => [`rootfs${lib}`, lib]),
  ];
  for (const [name, target] of links) {
    await mkdir(dirname(join(staging, name)), { recursive: true });
    await symlink(target, join(staging, name));
  }
  const dockerfile = [
    'FROM scratch',
    'COPY rootfs/ /',
    `COPY --chown=${SERVICE_USER} owned/ /`,
    `ENV PATH=/usr/local/bin NODE_ENV=production HOME=/home/node`,
    `USER ${SERVICE_USER}`,
    `WORKDIR ${APP_DIR}`,
  ].join('\n');
  const context = pack(staging, {
    entries: links.map(([name]) => name),
    dereference: true,
    map: (header) => ({ ...header, uid: 0, gid: 0, mode: 0o755 }),
    finalize: false,
    finish: (tar) => {
      const dir = (name: string, mode = 0o755) => tar.entry({ name, type: 'directory', mode });
      const file = (name: string, text: string) => tar.entry({ name, mode: 0o644 }, text);
      dir('rootfs/tmp', 0o1777);
      dir('rootfs/app');
      dir('owned/data', 0o700);
      dir('owned/home/node', 0o700);
      file(
        'rootfs/etc/passwd',
        'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000:node:/home/node:/sbin/nologin\n',
      );
      file('rootfs/etc/group', 'root:x:0:\nnode:x:1000:\n');
      file('rootfs/etc/nsswitch.conf', 'hosts: files dns\n');
      file('Dockerfile', `${dockerfile}\n`);
      tar.finalize();
    },
  } satisfies PackOptions);
  try {
    await buildImage(options, context, tag, 'node-base', hash);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  built.push('node-base');
  await pruneOld(options.docker, 'node-base', tag);
  options.onProgress?.({
    kind: 'built',
    image: 'node-base',
    tag,
    elapsedMs: Math.round(performance.now() - started),
  });
  return { tag, source: 'host-node' };
}

/**
 * What goes into /app: the bundles (no source maps, no manifest), and the Jaeger exporter with the
 * Thrift IDL it reads at run time (telemetry/instrument/jaeger-bundle.ts).
 */
const SHIPPED = /\.(mjs|cjs|thrift)$/;

async function bundleFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && SHIPPED.test(e.name))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

async function servicesHash(dir: string, files: readonly string[], base: string): Promise<string> {
  const hash = createHash('sha256').update(`recipe ${RECIPE}\nbase ${base}\n`);
  for (const file of files) hash.update(`${file}\n`).update(await readFile(join(dir, file)));
  return hash.digest('hex');
}

/** Size and mtime stand in for the content of a 100 MB binary: cheap, and it changes on upgrade. */
async function baseHash(binary: NodeBinary): Promise<string> {
  const hash = createHash('sha256').update(`recipe ${RECIPE}\n`);
  for (const file of [binary.path, ...binary.libraries]) {
    const s = await stat(file);
    hash.update(`${basename(file)} ${file} ${s.size} ${Math.round(s.mtimeMs)}\n`);
  }
  return hash.digest('hex');
}

async function hasImage(docker: Docker, tag: string, contentHash?: string): Promise<boolean> {
  try {
    const info = await docker.getImage(tag).inspect();
    return contentHash === undefined || info.Config?.Labels?.[LABEL.contentHash] === contentHash;
  } catch {
    return false;
  }
}

interface BuildMessage {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  status?: string;
}

async function buildImage(
  options: EnsureImagesOptions,
  context: ReturnType<typeof pack>,
  tag: string,
  image: ImageName,
  contentHash: string,
): Promise<void> {
  // tar-stream's pack is a streamx Readable: dockerode only pipes it.
  const stream = await options.docker.buildImage(context as unknown as NodeJS.ReadableStream, {
    t: tag,
    rm: true,
    forcerm: true,
    labels: { [LABEL.image]: image, [LABEL.contentHash]: contentHash },
  });
  let failure: string | undefined;
  await new Promise<void>((resolve, reject) => {
    options.docker.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(error) : resolve()),
      (message: BuildMessage) => {
        if (message.error) failure = message.errorDetail?.message ?? message.error;
        const step = /^Step (\d+)\/(\d+) : (.*)$/.exec(message.stream?.trim() ?? '');
        if (step)
          options.onProgress?.({
            kind: 'step',
            image,
            step: Number(step[1]),
            total: Number(step[2]),
            instruction: step[3]!,
          });
      },
    );
  });
  if (failure) throw new Error(`building ${tag} failed: ${failure}`);
}

async function pull(docker: Docker, tag: string): Promise<void> {
  const stream = await docker.pull(tag);
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}

/** Older images of ours that no container uses any more go, so rebuilds do not fill the disk. */
async function pruneOld(docker: Docker, image: ImageName, keep: string): Promise<void> {
  const images = await docker.listImages({ filters: { label: [`${LABEL.image}=${image}`] } });
  for (const old of images) {
    if (old.RepoTags?.includes(keep)) continue;
    // An image a container still runs refuses removal: exactly what we want.
    await docker
      .getImage(old.Id)
      .remove()
      .catch(() => undefined);
  }
}
