import { RequestMethod, type DynamicModule, type Type } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AppModule } from '../app.module.js';
import { loadConfig } from '../config/configuration.js';
import { buildOpenApiDocument } from './openapi.document.js';

type ModuleRef = Type | DynamicModule | Promise<DynamicModule> | { forwardRef: () => Type };

/** Every controller the app registers: the module tree of AppModule, read from its metadata. */
function controllersOf(root: DynamicModule): Type[] {
  const seen = new Set<unknown>();
  const controllers = new Set<Type>();
  const visit = (ref: ModuleRef | undefined): void => {
    if (ref === undefined || ref instanceof Promise) return;
    const module = 'forwardRef' in ref ? ref.forwardRef() : ref;
    if (seen.has(module)) return;
    seen.add(module);
    const dynamic = 'module' in module ? module : undefined;
    const type = dynamic ? dynamic.module : (module as Type);
    const read = <T>(key: string): T[] => (Reflect.getMetadata(key, type) as T[] | undefined) ?? [];
    for (const controller of [
      ...read<Type>(MODULE_METADATA.CONTROLLERS),
      ...(dynamic?.controllers ?? []),
    ])
      controllers.add(controller);
    for (const child of [...read<ModuleRef>(MODULE_METADATA.IMPORTS), ...(dynamic?.imports ?? [])])
      visit(child as ModuleRef);
  };
  visit(root);
  return [...controllers];
}

/** `GET /v1/sources/{id}` for every handler of the controllers, as Express would route it. */
function servedRoutes(controllers: Type[]): string[] {
  const routes: string[] = [];
  for (const controller of controllers) {
    const prefixes = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[]].flat();
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined) continue;
      const paths = [Reflect.getMetadata(PATH_METADATA, handler) as string | string[]].flat();
      for (const prefix of prefixes) {
        for (const path of paths) {
          const joined = `/${[prefix, path].join('/')}`
            .replace(/\/+/g, '/')
            .replace(/(.)\/$/, '$1');
          routes.push(`${RequestMethod[method]} ${joined.replace(/:(\w+)/g, '{$1}')}`);
        }
      }
    }
  }
  return routes.sort();
}

function documentedRoutes(): string[] {
  const paths = buildOpenApiDocument().paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths)
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

describe('OpenAPI document', () => {
  const served = servedRoutes(
    controllersOf(AppModule.forRoot(loadConfig({}), pino({ level: 'silent' }))),
  );

  it('reads the routes from the controllers (the walk itself found them)', () => {
    expect(served).toContain('GET /v1/sources/{id}');
    expect(served).toContain('DELETE /v1/elevation/totp/{subject}');
    expect(served.length).toBeGreaterThan(40);
  });

  it('documents every route a controller serves, and no route that none serves', () => {
    const documented = documentedRoutes();
    expect({
      undocumented: served.filter((route) => !documented.includes(route)),
      unserved: documented.filter((route) => !served.includes(route)),
    }).toEqual({ undocumented: [], unserved: [] });
  });

  it('shows a fleet token’s agentIdPrefix when creating and listing tokens', () => {
    const tokens = (buildOpenApiDocument().paths as Record<string, any>)['/v1/tokens'];
    const schemaOf = (content: any) => content['application/json'].schema;
    expect(schemaOf(tokens.post.requestBody.content).properties.agentIdPrefix).toMatchObject({
      type: 'string',
      pattern: '^[A-Za-z0-9_.:-]{1,127}$',
      description: expect.stringContaining('Fleet token'),
    });
    expect(schemaOf(tokens.post.responses['201'].content).required).toContain('agentIdPrefix');
    expect(
      schemaOf(tokens.get.responses['200'].content).properties.tokens.items.properties,
    ).toHaveProperty('agentIdPrefix');
  });
});
